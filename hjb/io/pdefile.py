"""PDE files: a Python file defining a module-level `problem` (a ControlProblem, infinite-horizon discounted, or a
FiniteHorizonProblem such as a DiffusionModel) or `pde` (a ResidualPDE), and optional `settings`."""
from __future__ import annotations

import importlib.util
import itertools
import os
import sys
from collections.abc import Callable
from pathlib import Path

from hjb.errors import HJBError, PDEFileError
from hjb.pdes.finite_horizon import FiniteHorizonProblem
from hjb.pdes.problem import ControlProblem
from hjb.pdes.residual_pde import ResidualPDE
from hjb.settings import (
    AnySettings,
    FiniteHorizonSettings,
    ResidualSettings,
    SolverSettings,
    settings_class,
)

_counter = itertools.count()
PROBLEM_TYPES = (ControlProblem, FiniteHorizonProblem)
AnyProblem = ControlProblem | FiniteHorizonProblem | ResidualPDE


def _one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else ""


def _name_file(exc: HJBError, path: Path) -> None:
    """Prefix the error's one-line message with the PDE file, keeping its class (ProblemError, ShapeError, …)."""
    exc.args = (f"PDE file {path}: {_one_line(exc)}",) + exc.args[1:]


def _import(path: Path):
    """Execute the file as a fresh module named hjb_pdefile_<k>_<stem> (never reusing a cached one)."""
    name = f"hjb_pdefile_{next(_counter)}_{''.join(c if c.isalnum() else '_' for c in path.stem)}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise PDEFileError(f"PDE file {path} cannot be imported; expected a Python source file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look their module up here
    dont_write = sys.dont_write_bytecode
    sys.dont_write_bytecode = True  # no __pycache__ beside the PDE file (or inside a run directory)
    try:
        spec.loader.exec_module(module)
    except HJBError as exc:
        sys.modules.pop(name, None)
        _name_file(exc, path)
        raise
    except (Exception, SystemExit) as exc:
        sys.modules.pop(name, None)
        raise PDEFileError(f"PDE file {path} failed to import: {type(exc).__name__}: {_one_line(exc)}") from exc
    finally:
        sys.dont_write_bytecode = dont_write
    return module


def _check_file(file: Path) -> None:
    if not file.exists():
        raise PDEFileError(f"PDE file not found: {file}")
    if file.is_dir():
        raise PDEFileError(f"PDE file {file} is a directory; expected a .py file")
    if file.suffix != ".py":
        raise PDEFileError(f"PDE file {file} is not a Python file; expected a path ending in .py")


def _settings(module, file: Path) -> AnySettings | None:
    settings = getattr(module, "settings", None)
    if settings is not None and not isinstance(settings, (SolverSettings, FiniteHorizonSettings, ResidualSettings)):
        raise PDEFileError(
            f"PDE file {file}: `settings` is a {type(settings).__name__}; expected settings = SolverSettings(...) "
            "(or FiniteHorizonSettings(...) for a FiniteHorizonProblem, ResidualSettings(...) for a ResidualPDE)"
        )
    return settings


def check_settings(settings: AnySettings | None, problem, file: Path) -> AnySettings | None:
    """The settings if they are those of the problem's solver (SolverSettings for a ControlProblem,
    FiniteHorizonSettings for a FiniteHorizonProblem), else PDEFileError naming the expected class."""
    expected = settings_class(problem)
    if settings is not None and not isinstance(settings, expected):
        raise PDEFileError(f"PDE file {file}: `settings` is a {type(settings).__name__}, but a "
                           f"{type(problem).__name__} is solved with {expected.__name__}; expected settings = "
                           f"{expected.__name__}(...)")
    return settings


def check_problem(problem, file: Path, what: str = "`problem`") -> ControlProblem | FiniteHorizonProblem:
    """The problem if it is an hjb problem whose functions give the declared shapes; PDEFileError (or the shape
    check's own HJBError) naming the file otherwise."""
    if not isinstance(problem, PROBLEM_TYPES):
        raise PDEFileError(
            f"PDE file {file}: {what} is a {type(problem).__name__}; expected an hjb ControlProblem "
            "(e.g. StochasticLQR(...), Merton(...) or ControlProblem(...)) or FiniteHorizonProblem "
            "(e.g. DiffusionModel(...))"
        )
    expected = ("the problem's functions", "functions of torch tensors x (n, d), a (n, m)"
                f"{', t (n, 1)' if isinstance(problem, FiniteHorizonProblem) else ''}")
    return _shape_checked(problem, file, *expected)


def _shape_checked(declared, file: Path, called: str, expected: str):
    """`declared` once its check_shapes() passes: its own HJBError named with the file, or PDEFileError for any other
    exception of the user's functions (`called`, `expected` say what was called and what it should be)."""
    try:
        declared.check_shapes()
    except HJBError as exc:
        _name_file(exc, file)
        raise
    except Exception as exc:
        raise PDEFileError(f"PDE file {file}: calling {called} on sample points raised {type(exc).__name__}: "
                           f"{_one_line(exc)}; expected {expected}") from exc
    return declared


def check_pde(pde, file: Path) -> ResidualPDE:
    """`pde` if it is a ResidualPDE whose residual and output transform give the declared shapes; PDEFileError (or
    the shape check's own HJBError) naming the file otherwise."""
    if not isinstance(pde, ResidualPDE):
        raise PDEFileError(f"PDE file {file}: `pde` is a {type(pde).__name__}; expected pde = ResidualPDE(...)")
    return _shape_checked(pde, file, "the residual",
                          "residual(x, u, D) of torch tensors x (n, D), u (n, 1) returning (n, 1)")


def load_problem(path: str | os.PathLike) -> tuple[AnyProblem, AnySettings | None]:
    """Import the PDE file at `path`; return its `problem` or `pde` (shape-checked) and its `settings` or None."""
    file = Path(path)
    _check_file(file)
    module = _import(file)
    has_problem, has_pde = hasattr(module, "problem"), hasattr(module, "pde")
    if has_problem == has_pde:
        what = "both `problem` and `pde`" if has_problem else "no module-level `problem` or `pde`"
        raise PDEFileError(f"PDE file {file} defines {what}; expected one: problem = ControlProblem(...) (or "
                           "FiniteHorizonProblem(...)) or pde = ResidualPDE(...)")
    settings = _settings(module, file)
    problem = check_pde(module.pde, file) if has_pde else check_problem(module.problem, file)
    return problem, check_settings(settings, problem, file)


def load_factory(path: str | os.PathLike) -> tuple[Callable[..., object], AnySettings | None]:
    """Import the sweep file at `path`; return its `make_problem(**params)` and its `settings` or None."""
    file = Path(path)
    _check_file(file)
    module = _import(file)
    factory = getattr(module, "make_problem", None)
    if not callable(factory):
        raise PDEFileError(f"PDE file {file} defines no function `make_problem`; a sweep expected "
                           "def make_problem(**params): return ControlProblem(...)")
    return factory, _settings(module, file)
