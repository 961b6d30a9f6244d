"""Space × time collocation domains box × [t0, t1] for time-dependent PDEs (columns: x_1..x_d, then t)."""
from __future__ import annotations

import math

import numpy as np

from hjb.errors import ProblemError
from hjb.geometry.box import Box
from hjb.geometry.sampling import unit_points


class SpaceTime:
    """The cylinder box × [t0, t1]; points are (n, d + 1) with time last, as DeepXDE's GeometryXTime."""

    def __init__(self, box: Box, t1: float, t0: float = 0.0):
        if not isinstance(box, Box):
            raise ProblemError(f"SpaceTime needs an hjb.geometry.Box; got {type(box).__name__}")
        t0, t1 = float(t0), float(t1)
        if not (math.isfinite(t0) and math.isfinite(t1)) or t1 <= t0:
            raise ProblemError(f"the time interval needs t0 < t1 (a horizon T > 0); got t0={t0}, t1={t1}")
        self.box, self.t0, self.t1 = box, t0, t1

    @property
    def dim(self) -> int:
        """Spatial dimension d (points carry d + 1 columns)."""
        return self.box.dim

    def __repr__(self) -> str:
        return f"SpaceTime({self.box!r}, t0={self.t0}, t1={self.t1})"

    def to_dict(self) -> dict:
        """JSON-ready description {box, t0, t1}."""
        return {"box": self.box.to_dict(), "t0": self.t0, "t1": self.t1}

    @classmethod
    def from_dict(cls, data: dict) -> SpaceTime:
        """Inverse of to_dict."""
        return cls(Box.from_dict(data["box"]), data["t1"], data["t0"])

    def _times(self, u: np.ndarray) -> np.ndarray:
        return self.t0 + u * (self.t1 - self.t0)

    def sample(self, n: int, method: str = "sobol", seed: int = 0) -> np.ndarray:
        """n interior collocation points (n, d + 1), quasi-random in space and time jointly."""
        u = unit_points(n, self.dim + 1, method, seed)
        return np.concatenate([self.box.from_unit(u[:, :-1]), self._times(u[:, -1:])], axis=1)

    def at_time(self, x: np.ndarray, t: float) -> np.ndarray:
        """Space points x (n, d) joined with the time t: (n, d + 1)."""
        x = np.asarray(x, dtype=float).reshape(len(x), self.dim)
        return np.concatenate([x, np.full((len(x), 1), float(t))], axis=1)

    def lateral_points(self, n: int, seed: int = 0) -> np.ndarray:
        """n points (n, d + 1) on the lateral boundary ∂box × [t0, t1], spread evenly over the 2d faces."""
        u = unit_points(n, self.dim + 1, "sobol", seed)
        faces = np.arange(n) % (2 * self.dim)
        x = self.box.from_unit(u[:, :-1])
        axis, upper = faces // 2, faces % 2 == 1
        x[np.arange(n), axis] = np.where(upper, self.box.hi[axis], self.box.lo[axis])
        return np.concatenate([x, self._times(u[:, -1:])], axis=1)

    def grid(self, per_axis: int, times: int | np.ndarray) -> np.ndarray:
        """Grid (N_t·N^d, d + 1): N_t times (a count, evenly spaced over [t0, t1], or the values),
        time slowest, then the space grid box.grid(per_axis) (first axis slowest) at each time."""
        t = np.linspace(self.t0, self.t1, times) if np.isscalar(times) else np.asarray(times, dtype=float)
        if t.ndim != 1 or len(t) < 1:
            raise ProblemError(f"times must be a count ≥ 1 or a 1-D array; got {times!r}")
        x = self.box.grid(per_axis)
        return np.concatenate([self.at_time(x, ti) for ti in t], axis=0)

    def to_deepxde(self):
        """DeepXDE GeometryXTime(box, TimeDomain(t0, t1))."""
        from hjb.backend import dde

        return dde.geometry.GeometryXTime(self.box.to_deepxde(), dde.geometry.TimeDomain(self.t0, self.t1))
