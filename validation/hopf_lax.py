"""Closed form of the Hopf–Lax problem (hjb.pdes.hopf_lax): V(t, x) = −½ max(|x| − c(T − t), 0)², and an optimal
action a* = −c·x/|x| outside the ball |x| ≤ c(T − t) (inside, V ≡ 0 and every |a| ≤ c is optimal: a* = 0 there)."""
from __future__ import annotations

import numpy as np


class HopfLaxSolution:
    """V and a* at space-time points xt (n, d + 1) for horizon T and speed c."""

    def __init__(self, horizon: float, speed: float = 1.0):
        self.horizon, self.speed = float(horizon), float(speed)

    def _gap(self, xt: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        x = xt[:, :-1]
        radius = np.linalg.norm(x, axis=1)
        return x, radius, radius - self.speed * (self.horizon - xt[:, -1])

    def value(self, xt: np.ndarray) -> np.ndarray:
        """−½ max(|x| − c(T − t), 0)² (n,)."""
        _, _, gap = self._gap(xt)
        return -0.5 * np.maximum(gap, 0.0) ** 2

    def policy(self, xt: np.ndarray) -> np.ndarray:
        """−c·x/|x| (n, d) where |x| > c(T − t), else 0."""
        x, radius, gap = self._gap(xt)
        outside = (gap > 0)[:, None]
        return np.where(outside, -self.speed * x / np.maximum(radius, 1e-300)[:, None], 0.0)

    def near_kink(self, xt: np.ndarray, width: float = 0.1) -> np.ndarray:
        """Mask (n,) of the points within `width` of the sphere |x| = c(T − t), where V is not C²."""
        return np.abs(self._gap(xt)[2]) <= width
