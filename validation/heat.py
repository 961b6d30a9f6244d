"""The exact solution of hjb.pdes.heat.heat_product: u(x, t) = Π_i sin(πx_i)·e^{−k d π² t}."""
from __future__ import annotations

import numpy as np


def heat_product_solution(z: np.ndarray, dim: int, diffusivity: float) -> np.ndarray:
    """u (n,) at space-time points z (n, d + 1), time last."""
    z = np.asarray(z, dtype=float)
    return np.prod(np.sin(np.pi * z[:, :dim]), axis=1) * np.exp(-diffusivity * dim * np.pi**2 * z[:, dim])
