"""Point sets on the unit cube [0, 1]^d: scrambled Sobol, uniform random, regular grid, residual-weighted picks."""
from __future__ import annotations

import numpy as np
from scipy.stats import qmc

from hjb.errors import UnknownNameError

METHODS = ("sobol", "uniform", "grid")


def unit_points(n: int, d: int, method: str = "sobol", seed: int = 0) -> np.ndarray:
    """n points (n, d) in [0, 1]^d by `method` in {sobol, uniform, grid}; grid rounds n up to m^d."""
    if method == "sobol":
        # Scrambled Sobol is balanced only for powers of two: draw 2^m ≥ n and keep the first n.
        m = max(int(np.ceil(np.log2(max(n, 2)))), 1)
        return qmc.Sobol(d, scramble=True, seed=seed).random_base2(m)[:n]
    if method == "uniform":
        return np.random.default_rng(seed).random((n, d))
    if method == "grid":
        per_axis = max(int(np.ceil(n ** (1.0 / d))), 2)
        return unit_grid(per_axis, d)
    raise UnknownNameError(f"unknown sampling method {method!r}; expected one of {', '.join(METHODS)}")


def unit_grid(per_axis: int, d: int) -> np.ndarray:
    """Regular grid (per_axis^d, d) on [0, 1]^d, first axis varying slowest (C order)."""
    axis = np.linspace(0.0, 1.0, per_axis)
    mesh = np.meshgrid(*([axis] * d), indexing="ij")
    return np.stack([m.ravel() for m in mesh], axis=-1)


def residual_weighted_pick(
    candidates: np.ndarray, residual: np.ndarray, n: int, seed: int = 0
) -> np.ndarray:
    """n of the candidates (N, d) drawn without replacement with probability ∝ |residual| (N,)."""
    weight = np.abs(np.asarray(residual, dtype=float).ravel())
    if not np.all(np.isfinite(weight)) or weight.sum() <= 0:
        weight = np.ones(len(candidates))
    # A floor keeps every candidate drawable, so n picks exist even where few residuals are non-zero.
    weight = weight + 1e-12 * weight.max()
    n = min(n, len(candidates))
    idx = np.random.default_rng(seed).choice(len(candidates), size=n, replace=False, p=weight / weight.sum())
    return candidates[idx]
