"""The time conditions a space-time value network builds in (FixedTime: an initial or terminal value; PeriodicTime:
periodic in t) and the input maps onto [−1, 1] that every value network's N_θ reads."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from hjb.errors import ProblemError

Tensor = torch.Tensor


@dataclass(frozen=True)
class FixedTime:
    """u = h(x) at the fixed time (at="start": t0, an initial condition; at="end": t1, a terminal one); `rate` c,
    the expected size of |∂_t u|, so that N_θ starts O(1); an optional base b(x, t) (n, 1) with b = h there."""

    fixed: Callable[[Tensor], Tensor]
    at: str
    rate: float = 1.0
    base: Callable[[Tensor, Tensor], Tensor] | None = None

    def __post_init__(self):
        if self.at not in ("start", "end"):
            raise ProblemError(f"at must be 'start' or 'end'; got {self.at!r}")
        if not self.rate > 0:
            raise ProblemError(f"rate must be > 0; got {self.rate!r}")
        object.__setattr__(self, "rate", float(self.rate))


@dataclass(frozen=True)
class PeriodicTime:
    """u = offset + scale·N_θ(z(x), cos 2πt/period, sin 2πt/period): periodic in t, the offset and scale as on a Box
    (trained offset; rescale), starting from offset 0 and scale = rate/discount, `rate` c the expected size of ρ|u|."""

    period: float
    rate: float
    discount: float

    def __post_init__(self):
        for label in ("period", "rate", "discount"):
            if not getattr(self, label) > 0:
                raise ProblemError(f"{label} must be > 0; got {getattr(self, label)!r}")
            object.__setattr__(self, label, float(getattr(self, label)))


def periodic_input_map(lo: np.ndarray, hi: np.ndarray, period: float) -> Callable[[Tensor], Tensor]:
    """(x, t) (n, d + 1) ↦ (z(x), cos ωt, sin ωt) (n, d + 2), z = 2(x − lo)/(hi − lo) − 1, ω = 2π/period."""
    space = input_map(lo, hi, log=False)
    omega = 2.0 * np.pi / period

    def features(xt: Tensor) -> Tensor:
        t = xt[:, -1:]
        return torch.cat([space(xt[:, :-1]), torch.cos(omega * t), torch.sin(omega * t)], dim=1)

    return features


class FixedTimeOutput:
    """(xt, y) ↦ h(x) + (c·τ)·y, or b(x, t) + (c·τ)·y, on a cylinder [t0, t1] in d space dimensions."""

    def __init__(self, condition: FixedTime, d: int, t0: float, t1: float):
        self.condition, self.d, self.t0, self.t1 = condition, d, t0, t1

    def __call__(self, xt: Tensor, y: Tensor) -> Tensor:
        c, d = self.condition, self.d
        x, t = xt[:, :d], xt[:, d:]
        tau = t - self.t0 if c.at == "start" else self.t1 - t
        return (c.fixed(x) if c.base is None else c.base(x, t)) + (c.rate * tau) * y


def input_map(lo: np.ndarray, hi: np.ndarray, log: bool) -> Callable[[Tensor], Tensor]:
    """z = 2(u − lo)/(hi − lo) − 1, u = log x on log boxes, in the input's dtype."""
    lo_t, hi_t = torch.as_tensor(lo, dtype=torch.float64), torch.as_tensor(hi, dtype=torch.float64)

    def features(x: Tensor) -> Tensor:
        u = torch.log(x) if log else x
        return 2.0 * (u - lo_t.to(u.dtype)) / (hi_t - lo_t).to(u.dtype) - 1.0

    return features
