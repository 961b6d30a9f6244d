"""The model-free contract: an Environment hands out states and transitions (x, a) ↦ (x', r) and nothing else; the
learners (hjb.learning) never see a drift, a diffusion or a reward function."""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from hjb.errors import ProblemError, ShapeError, positive
from hjb.geometry.box import Box
from hjb.pdes.names import state_and_action_names

Reset = Callable[[int, np.random.Generator], np.ndarray]
Step = Callable[[np.ndarray, np.ndarray, float, np.random.Generator], tuple[np.ndarray, np.ndarray]]
CHECK_STATES = 4


class Environment:
    """reset(n, rng) -> x (n, d): start states; step(x (n, d), a (n, m), dt, rng) -> (x' (n, d), r (n,)): the state after
    dt under the action held over it, and the reward rate r (the transition earns r·dt); dt > 0 the learner's step;
    discount ρ > 0; action_low, action_high (m,) the action bounds (±inf for none); domain, a Box where the learned
    value and policy are evaluated and exported; state_names, action_names optional (default x0…, a0…)."""

    kind = "Environment"

    def __init__(self, *, name: str, reset: Reset, step: Step, dt: float, discount: float, domain: Box,
                 action_low: Sequence[float], action_high: Sequence[float],
                 state_names: Sequence[str] | None = None, action_names: Sequence[str] | None = None):
        if not isinstance(name, str) or not name:
            raise ProblemError(f"environment name must be a non-empty string; got {name!r}")
        for label, fn in (("reset", reset), ("step", step)):
            if not callable(fn):
                raise ProblemError(f"{label} must be callable; got {type(fn).__name__}")
        if not isinstance(domain, Box):
            raise ProblemError(f"domain must be an hjb Box; got {type(domain).__name__}")
        self.name, self._reset, self._step, self.domain = name, reset, step, domain
        self.dt = positive(dt, "dt must be a finite number > 0")
        self.discount = positive(discount, "discount must be a finite number > 0")
        self.action_low, self.action_high = _bounds(action_low, action_high)
        self.state_names, self.action_names = state_and_action_names(state_names, action_names, domain.dim,
                                                                     len(self.action_low))

    @property
    def state_dim(self) -> int:
        """d."""
        return self.domain.dim

    @property
    def action_dim(self) -> int:
        """m."""
        return len(self.action_low)

    def reset(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n start states (n, d); ShapeError for any other shape or a non-finite state."""
        x = np.asarray(self._reset(n, rng), dtype=float)
        if x.shape != (n, self.state_dim) or not np.all(np.isfinite(x)):
            raise ShapeError(f"reset of environment {self.name!r} returned shape {x.shape} (or non-finite states); "
                             f"expected ({n}, {self.state_dim}) finite")
        return x

    def step(self, x: np.ndarray, a: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """(x' (n, d), r (n,)) after one dt from x (n, d) under a (n, m) clipped into the bounds; ShapeError for a
        wrong shape."""
        x, a = np.asarray(x, dtype=float), np.asarray(a, dtype=float)
        n = len(x)
        if x.shape != (n, self.state_dim) or a.size != n * self.action_dim:
            raise ShapeError(f"step of environment {self.name!r} got x of shape {x.shape} and a of shape {a.shape}; "
                             f"expected ({n}, {self.state_dim}) and ({n}, {self.action_dim})")
        a = self.clip(a.reshape(n, self.action_dim))
        out = self._step(x, a, self.dt, rng)
        if not (isinstance(out, tuple) and len(out) == 2):
            raise ShapeError(f"step of environment {self.name!r} must return (x_next, reward); got "
                             f"{type(out).__name__}")
        x_next, reward = np.asarray(out[0], dtype=float), np.asarray(out[1], dtype=float)
        if x_next.shape != (n, self.state_dim):
            raise ShapeError(f"step of environment {self.name!r} returned x_next of shape {x_next.shape}; expected "
                             f"({n}, {self.state_dim})")
        if reward.shape not in ((n,), (n, 1)):
            raise ShapeError(f"step of environment {self.name!r} returned reward of shape {reward.shape}; expected "
                             f"({n},)")
        return x_next, reward.reshape(n)

    def clip(self, a: np.ndarray) -> np.ndarray:
        """a (n, m) clipped into [action_low, action_high]."""
        return np.clip(a, self.action_low, self.action_high)

    def check_shapes(self) -> Environment:
        """reset and one step (at the middle of the bounds, or 0 where unbounded) on a few states: a wrong shape raises
        before any learning."""
        rng = np.random.default_rng(0)
        x = self.reset(CHECK_STATES, rng)
        bounded = np.isfinite(self.action_low) & np.isfinite(self.action_high)
        middle = np.zeros(self.action_dim)  # where a bound is infinite; −inf + inf would be NaN
        middle[bounded] = 0.5 * (self.action_low[bounded] + self.action_high[bounded])
        self.step(x, np.tile(np.clip(middle, self.action_low, self.action_high), (CHECK_STATES, 1)), rng)
        return self

    def describe(self) -> dict:
        """JSON-ready summary: kind, name, dimensions, names, dt, discount, bounds, domain."""
        return {"kind": self.kind, "name": self.name, "state_dim": self.state_dim, "action_dim": self.action_dim,
                "state_names": list(self.state_names), "action_names": list(self.action_names), "dt": self.dt,
                "discount": self.discount, "action_low": self.action_low.tolist(),
                "action_high": self.action_high.tolist(), "domain": self.domain.to_dict()}


def _bounds(low: Sequence[float], high: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """(low (m,), high (m,)) as floats, low < high, no NaN; ±inf allowed."""
    lo, hi = np.atleast_1d(np.asarray(low, dtype=float)), np.atleast_1d(np.asarray(high, dtype=float))
    if lo.ndim != 1 or lo.shape != hi.shape or lo.size == 0:
        raise ProblemError(f"action_low and action_high must be two equal-length lists; got shapes {lo.shape}, "
                           f"{hi.shape}")
    if np.any(np.isnan(lo)) or np.any(np.isnan(hi)) or np.any(lo >= hi):
        raise ProblemError(f"action bounds must satisfy action_low < action_high; got {lo.tolist()}, {hi.tolist()}")
    return lo, hi

