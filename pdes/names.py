"""Names of a problem's state and action components (x0…, a0… by default): they label plot axes, the netCDF
dimensions, coordinates and variables, the CSV header and the report figures, so each must be a name there too."""
from __future__ import annotations

import re
from collections.abc import Sequence

from hjb.errors import ProblemError

# Names the exports already use for their own columns, variables and dimensions (hjb.io.export, export_points).
RESERVED = ("t", "value", "policy", "hjb_residual", "u", "residual", "meta", "action", "point")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")  # ASCII: a netCDF-3 name, a CSV column, a Python identifier


def default_names(count: int, prefix: str) -> tuple[str, ...]:
    """(prefix0, …, prefix{count − 1}): the names of components nobody named."""
    return tuple(f"{prefix}{i}" for i in range(count))


def component_names(names: Sequence[str] | None, count: int, prefix: str, what: str) -> tuple[str, ...]:
    """The `count` names of the `what` components ("state_names", …): `names` checked, or prefix0… when None.

    ProblemError (one line) on a wrong length, a duplicate, an empty, non-string or non-identifier name, or a name
    in RESERVED."""
    if names is None:
        return default_names(count, prefix)
    if isinstance(names, str) or not isinstance(names, Sequence):
        raise ProblemError(f"{what} must be a sequence of {count} names; got {names!r}")
    names = tuple(names)
    if len(names) != count:
        raise ProblemError(f"{what} must hold {count} name(s), one per component; got {len(names)}: {list(names)!r}")
    for i, name in enumerate(names):
        if not isinstance(name, str) or not _NAME.match(name):
            raise ProblemError(f"{what}[{i}] = {name!r} is not a name; expected a non-empty string of ASCII letters, "
                               "digits and _ that does not start with a digit")
        if name in RESERVED:
            raise ProblemError(f"{what}[{i}] = {name!r} is reserved for the exports; expected a name other than "
                               f"{', '.join(RESERVED)}")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ProblemError(f"{what} repeats {', '.join(map(repr, repeated))}; expected {count} different names")
    return names


def state_and_action_names(state_names: Sequence[str] | None, action_names: Sequence[str] | None, state_dim: int,
                           action_dim: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(state names (d,), action names (m,)), each checked by component_names and the two sets disjoint."""
    states = component_names(state_names, state_dim, "x", "state_names")
    actions = component_names(action_names, action_dim, "a", "action_names")
    shared = sorted(set(states) & set(actions))
    if shared:
        raise ProblemError(f"state_names and action_names share {', '.join(map(repr, shared))}; expected different "
                           "names for states and actions")
    return states, actions
