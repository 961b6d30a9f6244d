"""Axis-aligned boxes lo ≤ x ≤ hi in R^d: the collocation domains of stationary problems."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hjb.errors import ProblemError, UnknownNameError
from hjb.geometry.sampling import unit_grid, unit_points

SCALES = ("linear", "log")


class Box:
    """The box [lo_1, hi_1] × … × [lo_d, hi_d]; `scale="log"` samples uniformly in log x (needs lo > 0)."""

    def __init__(self, lo: float | Sequence[float], hi: float | Sequence[float], scale: str = "linear"):
        lo_arr = np.atleast_1d(np.asarray(lo, dtype=float))
        hi_arr = np.atleast_1d(np.asarray(hi, dtype=float))
        if lo_arr.ndim != 1 or lo_arr.shape != hi_arr.shape:
            raise ProblemError(
                f"Box lo and hi must be scalars or 1-D sequences of equal length; got {lo_arr.shape} and {hi_arr.shape}"
            )
        if not (np.all(np.isfinite(lo_arr)) and np.all(np.isfinite(hi_arr))):
            raise ProblemError(f"Box bounds must be finite; got lo={lo_arr.tolist()}, hi={hi_arr.tolist()}")
        if np.any(hi_arr <= lo_arr):
            raise ProblemError(f"Box needs lo < hi on every axis; got lo={lo_arr.tolist()}, hi={hi_arr.tolist()}")
        if scale not in SCALES:
            raise UnknownNameError(f"unknown Box scale {scale!r}; expected one of {', '.join(SCALES)}")
        if scale == "log" and np.any(lo_arr <= 0):
            raise ProblemError(f"a log-scaled Box needs lo > 0 on every axis (e.g. positive wealth); got lo={lo_arr.tolist()}")
        self.lo, self.hi, self.scale = lo_arr, hi_arr, scale

    @property
    def dim(self) -> int:
        """Dimension d of the box."""
        return self.lo.size

    def __repr__(self) -> str:
        extra = "" if self.scale == "linear" else f", scale={self.scale!r}"
        return f"Box(lo={self.lo.tolist()}, hi={self.hi.tolist()}{extra})"

    def to_dict(self) -> dict:
        """JSON-ready description {lo, hi, scale}."""
        return {"lo": self.lo.tolist(), "hi": self.hi.tolist(), "scale": self.scale}

    @classmethod
    def from_dict(cls, data: dict) -> Box:
        """Inverse of to_dict."""
        return cls(data["lo"], data["hi"], data.get("scale", "linear"))

    def from_unit(self, u: np.ndarray) -> np.ndarray:
        """Map points u (n, d) of [0, 1]^d onto the box (linearly, or geometrically for scale="log")."""
        if self.scale == "log":
            return np.exp(np.log(self.lo) + u * (np.log(self.hi) - np.log(self.lo)))
        return self.lo + u * (self.hi - self.lo)

    def sample(self, n: int, method: str = "sobol", seed: int = 0) -> np.ndarray:
        """n collocation points (n, d) in the box by `method` (sobol, uniform or grid)."""
        return self.from_unit(unit_points(n, self.dim, method, seed))

    def grid(self, per_axis: int) -> np.ndarray:
        """Regular grid (per_axis^d, d), evenly spaced in x on every axis, first axis slowest."""
        if per_axis < 2:
            raise ProblemError(f"a grid needs at least 2 points per axis; got {per_axis}")
        return self.lo + unit_grid(per_axis, self.dim) * (self.hi - self.lo)

    def integrate(self, f, per_axis: int = 101) -> float:
        """∫_box f dx by the trapezoidal rule on the grid(per_axis), f mapping points (n, d) to values (n,)."""
        values = np.asarray(f(self.grid(per_axis)), dtype=float).reshape((per_axis,) * self.dim)
        for axis in range(self.dim):
            values = np.trapezoid(values, np.linspace(self.lo[axis], self.hi[axis], per_axis), axis=0)
        return float(values)

    def contains(self, x: np.ndarray) -> np.ndarray:
        """Boolean mask (n,) of the points x (n, d) inside the closed box."""
        return np.all((x >= self.lo) & (x <= self.hi), axis=-1)

    def boundary_points(self) -> np.ndarray:
        """The 2^d corners (2^d, d) of the box (the two end points of an interval)."""
        return self.lo + unit_grid(2, self.dim) * (self.hi - self.lo)

    def spread_points(self, n: int, seed: int = 0) -> np.ndarray:
        """n points (n, d): the corners when 2^d ≤ n/2 (they pin the ends), the rest Sobol inside."""
        corners = self.boundary_points() if 2**self.dim <= n // 2 else np.empty((0, self.dim))
        inner = self.sample(n - len(corners), "sobol", seed)
        return np.concatenate([corners, inner], axis=0)

    def to_deepxde(self):
        """The DeepXDE geometry of this box (Interval for d = 1, Hypercube otherwise)."""
        from hjb.backend import dde

        if self.dim == 1:
            return dde.geometry.Interval(float(self.lo[0]), float(self.hi[0]))
        return dde.geometry.Hypercube(self.lo.tolist(), self.hi.tolist())
