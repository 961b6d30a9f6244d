"""`--param NAME=V1,V2,…` options: parsed, checked against make_problem's signature, expanded into cells."""
from __future__ import annotations

import ast
import inspect
import itertools
from collections.abc import Callable

from hjb.errors import ProblemError


def _number(text: str, name: str) -> float | int:
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError):
        value = None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ProblemError(f"--param {name}: {text.strip()!r} is not a number; expected NAME=V1,V2,… with numbers")
    return value


def parse_params(options: list[str]) -> dict[str, list[float | int]]:
    """{"gamma": [2, 3, 5], …} from ["gamma=2,3,5", …]; ProblemError on a malformed, empty or repeated name."""
    if not options:
        raise ProblemError("a sweep needs at least one --param NAME=V1,V2,…")
    params: dict[str, list] = {}
    for option in options:
        name, sep, values = option.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier() or not values.strip():
            raise ProblemError(f"--param {option!r} is malformed; expected NAME=V1,V2,… (e.g. gamma=2,3,5)")
        if name in params:
            raise ProblemError(f"--param {name} is given twice; expected each name once")
        parsed = [_number(v, name) for v in values.split(",")]
        if len(set(parsed)) != len(parsed):
            raise ProblemError(f"--param {name} repeats a value in {values!r}; expected distinct values")
        params[name] = parsed
    return params


def check_signature(make_problem: Callable, params: dict[str, list]) -> None:
    """ProblemError unless make_problem accepts every swept name as a keyword (and needs no other argument)."""
    signature = inspect.signature(make_problem)
    accepted = ", ".join(signature.parameters) or "no arguments"
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in signature.parameters.values())
    unknown = [name for name in params if name not in signature.parameters and not takes_any]
    if unknown:
        raise ProblemError(f"make_problem has no parameter {unknown[0]!r}; it accepts: {accepted}")
    try:
        inspect.signature(make_problem).bind(**{name: values[0] for name, values in params.items()})
    except TypeError as err:
        raise ProblemError(f"make_problem cannot take the swept parameters {sorted(params)}: {err}; "
                           f"it accepts: {accepted}") from None


def cells(params: dict[str, list]) -> list[dict]:
    """Every combination of the swept values, the last name varying fastest: [{"gamma": 2, "rho": 0.04}, …]."""
    names = list(params)
    return [dict(zip(names, values, strict=True)) for values in itertools.product(*params.values())]
