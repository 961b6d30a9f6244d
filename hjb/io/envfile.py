"""Environment files: a Python file defining a module-level `env` (an hjb.learning Environment: ProblemEnvironment,
GymnasiumEnvironment or your own) and optional `settings = QLearningSettings(...)`, imported as PDE files are."""
from __future__ import annotations

import os
from pathlib import Path

from hjb.errors import HJBError, PDEFileError
from hjb.io.pdefile import _check_file, _import, _shape_checked
from hjb.learning.environment import Environment
from hjb.settings import QLearningSettings

CALLED = "the environment's reset and step"
EXPECTED = "reset(n, rng) -> x (n, d) and step(x (n, d), a (n, m), dt, rng) -> (x' (n, d), r (n,))"


def load_environment(path: str | os.PathLike) -> tuple[Environment, QLearningSettings | None]:
    """Import the environment file at `path`; return its `env` (reset and one step shape-checked) and its `settings`
    or None; PDEFileError (or the environment's own HJBError) in one line naming the file otherwise."""
    file = Path(path)
    try:
        _check_file(file)
        module = _import(file)
        if not hasattr(module, "env"):
            raise PDEFileError(f"environment file {file} defines no module-level `env`; expected env = "
                               "ProblemEnvironment(problem, dt, action_low, action_high) (hjb.learning.adapters), "
                               "GymnasiumEnvironment(...) or Environment(...)")
        env = module.env
        if not isinstance(env, Environment):
            raise PDEFileError(f"environment file {file}: `env` is a {type(env).__name__}; expected an hjb.learning "
                               "Environment (ProblemEnvironment, GymnasiumEnvironment or Environment)")
        settings = getattr(module, "settings", None)
        if settings is not None and not isinstance(settings, QLearningSettings):
            raise PDEFileError(f"environment file {file}: `settings` is a {type(settings).__name__}; expected "
                               "settings = QLearningSettings(...) (hjb.settings)")
        return _shape_checked(env, file, CALLED, EXPECTED), settings
    except HJBError as exc:
        _relabel(exc)
        raise


def _relabel(exc: HJBError) -> None:
    """Call the file an environment file in the message hjb.io.pdefile's helpers wrote (class kept)."""
    message = str(exc)
    if message.startswith("PDE file"):
        exc.args = ("environment file" + message[len("PDE file"):],) + exc.args[1:]
