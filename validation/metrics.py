"""Error metrics of a solver output against a closed-form reference."""
from __future__ import annotations

import numpy as np

from hjb.errors import ShapeError


def rel_l2(a: np.ndarray, b: np.ndarray) -> float:
    """‖a − b‖₂ / ‖b‖₂ over all entries of equally shaped arrays (inf if b = 0 ≠ a, nan if anything is not finite)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ShapeError(f"rel_l2 needs arrays of equal shape; got {a.shape} and {b.shape}")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return float("nan")
    diff, ref = float(np.linalg.norm(a - b)), float(np.linalg.norm(b))
    if ref == 0.0:
        return 0.0 if diff == 0.0 else float("inf")
    return diff / ref


def columnwise_rel_l2(a: np.ndarray, b: np.ndarray) -> float:
    """max_j ‖a[:, j] − b[:, j]‖₂ / ‖b[:, j]‖₂ over the columns of (n, m) arrays: each action component alone."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ShapeError(f"columnwise_rel_l2 needs arrays of equal shape; got {a.shape} and {b.shape}")
    return max(rel_l2(a[:, j], b[:, j]) for j in range(a.shape[1]))
