"""Transition data (x, a, r, x', dt): what the model-free learners read, from an .npz file or collected from an
Environment under uniformly exploring actions."""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hjb.errors import ProblemError, ShapeError, positive_int
from hjb.io.atomic import atomic_file
from hjb.learning.environment import Environment

KEYS = ("x", "a", "r", "x_next", "dt")


@dataclass(frozen=True, eq=False)
class Transitions:
    """N transitions (x (N, d), a (N, m), r (N,), x_next (N, d), dt (N,)), float64, read-only: from x the action a
    held for dt > 0 earned the reward rate r (r·dt in all) and led to x_next. A 1-D x, a or x_next is read as
    (N, 1), r (N, 1) as (N,), a scalar dt as dt for every row."""

    x: np.ndarray
    a: np.ndarray
    r: np.ndarray
    x_next: np.ndarray
    dt: np.ndarray

    def __post_init__(self):
        arrays = {key: _numeric(key, getattr(self, key)) for key in KEYS}
        for key in ("x", "a", "x_next"):
            if arrays[key].ndim == 1:
                arrays[key] = arrays[key][:, None]
        if arrays["r"].ndim == 2 and arrays["r"].shape[1] == 1:
            arrays["r"] = arrays["r"][:, 0]
        n = arrays["x"].shape[0] if arrays["x"].ndim else 0
        if arrays["dt"].ndim == 0:
            arrays["dt"] = np.full(n, float(arrays["dt"]))
        x, a, r, x_next, dt = (arrays[key] for key in KEYS)
        if (x.ndim != 2 or a.ndim != 2 or a.shape[0] != n or r.shape != (n,) or x_next.shape != x.shape
                or dt.shape != (n,)):
            got = ", ".join(f"{key} {arrays[key].shape}" for key in KEYS)
            raise ShapeError(f"transitions need x (N, d), a (N, m), r (N,), x_next (N, d), dt (N,) with one N; "
                             f"got {got}")
        if n == 0:
            raise ProblemError("transitions hold no rows; expected N ≥ 1")
        for key in KEYS:
            bad = ~np.isfinite(arrays[key].reshape(n, -1)).all(axis=1)
            if bad.any():
                raise ProblemError(f"transitions contain NaN/inf in {key!r} ({int(bad.sum())} of {n} rows)")
        if np.any(dt <= 0):
            raise ProblemError(f"transitions need dt > 0; {int(np.sum(dt <= 0))} of {n} rows have dt ≤ 0 "
                               f"(min {float(dt.min())!r})")
        for key, value in arrays.items():
            view = value.view()
            view.flags.writeable = False
            object.__setattr__(self, key, view)

    def __len__(self) -> int:
        return self.x.shape[0]

    @property
    def state_dim(self) -> int:
        """d."""
        return self.x.shape[1]

    @property
    def action_dim(self) -> int:
        """m."""
        return self.a.shape[1]

    def __repr__(self) -> str:
        return f"Transitions(N={len(self)}, d={self.state_dim}, m={self.action_dim})"


def _numeric(key: str, value) -> np.ndarray:
    """value as a float64 array, else ProblemError naming the key."""
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ProblemError(f"transitions' {key!r} must be numeric; got {type(value).__name__}") from None


def load_transitions(path: str | os.PathLike) -> Transitions:
    """Transitions from an .npz file holding the arrays x, a, r, x_next, dt (extra keys are ignored)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [key for key in KEYS if key not in data.files]
            if missing:
                raise ProblemError(f"transitions file {os.fspath(path)} lacks {', '.join(missing)}; expected the "
                                   f"keys {', '.join(KEYS)}")
            arrays = {key: data[key] for key in KEYS}
    except (OSError, ValueError) as err:
        if isinstance(err, ProblemError):
            raise
        raise ProblemError(f"cannot read transitions from {os.fspath(path)}: {err}; expected an .npz file with the "
                           f"keys {', '.join(KEYS)}") from None
    return Transitions(**arrays)


def save_transitions(path: str | os.PathLike, transitions: Transitions) -> Path:
    """Write transitions atomically to an .npz file at exactly `path` (keys x, a, r, x_next, dt)."""
    if not isinstance(transitions, Transitions):
        raise ProblemError(f"save_transitions needs a Transitions; got {type(transitions).__name__}")
    with atomic_file(path) as temp, open(temp, "wb") as handle:  # a handle: np.savez would append .npz to a name
        np.savez(handle, **{key: getattr(transitions, key) for key in KEYS})
    return Path(path)


def collect_transitions(env: Environment, n: int, rng: np.random.Generator, episode_steps: int = 50) -> Transitions:
    """n transitions of env: ⌈n / episode_steps⌉ episodes from env.reset, stepped together for episode_steps steps
    under behaviour actions a ~ U[action_low, action_high] i.i.d. each step; the first n rows, episode by episode."""
    if not isinstance(env, Environment):
        raise ProblemError(f"collect_transitions needs an hjb Environment; got {type(env).__name__}")
    n, steps = positive_int(n, "n"), positive_int(episode_steps, "episode_steps")
    low, high = env.action_low, env.action_high
    for i in range(env.action_dim):
        if not (math.isfinite(low[i]) and math.isfinite(high[i])):
            raise ProblemError(f"environment {env.name!r} has an infinite bound on action {env.action_names[i]!r} "
                               f"[{low[i]}, {high[i]}]: the model-free learners explore uniformly on the bounds, so "
                               "declare finite bounds")
    episodes = -(-n // steps)
    x = env.reset(episodes, rng)
    rows: dict[str, list[np.ndarray]] = {key: [] for key in ("x", "a", "r", "x_next")}
    for _ in range(steps):
        a = rng.uniform(low, high, size=(episodes, env.action_dim))
        x_next, r = env.step(x, a, rng)
        for key, value in (("x", x), ("a", a), ("r", r), ("x_next", x_next)):
            rows[key].append(value)
        x = x_next
    # (steps, episodes, ·) -> episode-major rows, so that the first n rows are whole episodes but the last.
    data = {key: np.swapaxes(np.stack(value), 0, 1).reshape(episodes * steps, -1)[:n] for key, value in rows.items()}
    return Transitions(x=data["x"], a=data["a"], r=data["r"][:, 0], x_next=data["x_next"], dt=env.dt)
