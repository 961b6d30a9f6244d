"""Checked matrices: the one validator behind every matrix hjb takes (LQR coefficients, the Riccati and Gaussian
closed forms, covariances). Each error names the matrix, what was expected and what came."""
from __future__ import annotations

import numpy as np

from hjb.errors import ProblemError


def matrix(value, name: str, rows: int | None = None, cols: int | None = None, column: bool = False) -> np.ndarray:
    """value as a finite float matrix (rows, cols) (None: any size); with column=True a number or a vector whose
    length is a multiple of rows is read as (rows, k). ProblemError otherwise."""
    try:
        M = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ProblemError(f"{name} must be a numeric matrix; got {value!r}") from None
    if column and rows is not None and M.ndim < 2 and M.size % rows == 0:
        M = M.reshape(rows, -1)
    M = np.atleast_2d(M)
    if M.ndim != 2 or (rows is not None and M.shape[0] != rows) or (cols is not None and M.shape[1] != cols):
        want = f"({'·' if rows is None else rows}, {'·' if cols is None else cols})"
        raise ProblemError(f"{name} must be a {want} matrix; got shape {M.shape}")
    if not np.all(np.isfinite(M)):
        raise ProblemError(f"{name} must have finite entries; got {M.tolist()}")
    return M


def square(value, name: str, size: int | None = None) -> np.ndarray:
    """matrix(value) of shape (d, d) (d = size when given)."""
    M = matrix(value, name, size, size)
    if M.shape[0] != M.shape[1]:
        raise ProblemError(f"{name} must be a square (d, d) matrix; got shape {M.shape}")
    return M


def symmetric(M: np.ndarray, name: str, definite: str | None = None) -> np.ndarray:
    """½(M + Mᵀ) of a square M that is symmetric to rounding (relative 1e-10); definite="positive" also requires
    its eigenvalues > 0, "semi" ≥ −1e-12. ProblemError otherwise."""
    if not np.allclose(M, M.T, rtol=1e-10, atol=1e-12 * max(1.0, float(np.abs(M).max(initial=0.0)))):
        raise ProblemError(f"{name} must be symmetric; got {M.tolist()}")
    S = 0.5 * (M + M.T)
    if definite is not None:
        low = float(np.linalg.eigvalsh(S).min()) if S.size else 1.0
        if (definite == "positive" and low <= 0) or (definite == "semi" and low < -1e-12):
            kind = "positive definite" if definite == "positive" else "positive semi-definite"
            raise ProblemError(f"{name} must be {kind}; got {M.tolist()} (smallest eigenvalue {low:.3g})")
    return S
