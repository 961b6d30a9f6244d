"""Finite-difference reference for the 1-D stochastic LQR with a bounded action, by Howard policy iteration:
ρV = max_{lo ≤ a ≤ hi} {−½(Qx² + Ra²) + (Ax + Ba)V′ + ½σ²V″}, σ² = DDᵀ, greedy a = clip(BV′/R, lo, hi)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.interpolate import CubicSpline
from scipy.sparse import diags
from scipy.sparse.linalg import spsolve

from hjb.errors import ProblemError, positive_int
from hjb.geometry.box import Box
from hjb.validation.riccati import lqr_solution

MAX_NODES = 2_000_000


@dataclass(frozen=True)
class BoundedLQRSolution:
    """V on the uniform grid (N,), interpolated by a cubic spline S; policy clip(B S′/R, lo, hi).

    reach: the largest discounted fraction of time ρ·E_x∫e^{−ρt}1{X_t ∈ inexact nodes}dt over the box, where the
    inexact nodes are the upwind ones and the two reflecting ends (the only places where the scheme is not
    exact for quadratics).
    """

    grid: np.ndarray
    values: np.ndarray
    B: float
    R: float
    low: float
    high: float
    iterations: int
    reach: float
    spline: CubicSpline = field(repr=False)

    def _inside(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        if x.ndim != 2 or x.shape[1] != 1:
            raise ProblemError(f"bounded LQR reference takes points of shape (n, 1); got {x.shape}")
        if np.any(x < self.grid[0]) or np.any(x > self.grid[-1]):
            raise ProblemError(
                f"points outside the reference grid [{self.grid[0]:.6g}, {self.grid[-1]:.6g}]; "
                "expected points in the box given to bounded_lqr_solution"
            )
        return x[:, 0]

    def value(self, x: np.ndarray) -> np.ndarray:
        """V(x) (n,) for x (n, 1)."""
        return self.spline(self._inside(x))

    def policy(self, x: np.ndarray) -> np.ndarray:
        """a*(x) = clip(B V′(x)/R, lo, hi) (n, 1) for x (n, 1)."""
        dV = self.spline(self._inside(x), 1)
        return np.clip(self.B * dV / self.R, self.low, self.high)[:, None]


@dataclass(frozen=True)
class _Scalars:
    A: float
    B: float
    Q: float
    R: float
    var: float
    rho: float
    low: float
    high: float


def bounded_lqr_solution(
    problem,
    box: Box | tuple[float, float] | None = None,
    step: float | None = None,
    reach_tol: float = 1e-12,
    max_iterations: int = 100,
) -> BoundedLQRSolution:
    """Howard policy iteration for the bounded 1-D LQR on a uniform grid of spacing `step` around `box`.

    The grid [−L, L] starts at L = |box| + 20 stationary standard deviations and doubles until the inexact
    nodes (upwind, reflecting ends) are reached from the box for at most a fraction reach_tol of discounted
    time. step defaults to |box|/4000 (second order: V within ~1e-7 of the PDE on the seed's [−2, 2]).
    """
    s = _scalars(problem)
    max_iterations = positive_int(max_iterations, "max_iterations")
    lo, hi = _interval(problem.domain if box is None else box)
    h = (hi - lo) / 4000.0 if step is None else float(step)
    if not (math.isfinite(h) and h > 0):
        raise ProblemError(f"step must be a positive number; got {step!r}")
    try:
        K = float(lqr_solution(problem).K[0, 0])
    except ProblemError:
        K = 0.0
    edge = max(abs(lo), abs(hi))
    half, reach = edge + 20.0 * _stationary_scale(s, K), math.inf
    for _ in range(6):
        n = math.ceil(half / h)
        if 2 * n + 1 > MAX_NODES:
            break
        x = h * np.arange(-n, n + 1)
        V, a, iterations = _howard(x, h, s, np.clip(-K * x, s.low, s.high), max_iterations)
        reach_ends, reach_upwind = _reach(x, a, h, s, (x >= lo) & (x <= hi))
        reach = reach_ends + reach_upwind
        if reach <= reach_tol:
            return BoundedLQRSolution(x, V, s.B, s.R, s.low, s.high, iterations, reach, CubicSpline(x, V))
        if reach_upwind > 0.5 * reach_tol:
            raise ProblemError(
                f"upwind nodes are reached from the box (reach {reach_upwind:.3g} > {reach_tol:.3g}); "
                f"expected a step smaller than {h:.3g}"
            )
        half = edge + 2.0 * (half - edge)
    raise ProblemError(
        f"the grid ends stay reachable from the box (reach {reach:.3g} > {reach_tol:.3g} at half-width {half:.3g}); "
        "expected a closed loop that pulls the state back towards 0 (e.g. A < 0 with bounded actions)"
    )


def _scalars(problem) -> _Scalars:
    try:
        A, B, Q, R, D = (np.atleast_2d(np.asarray(getattr(problem, k), dtype=float)) for k in "ABQRD")
    except AttributeError:
        raise ProblemError(
            f"bounded_lqr_solution needs a StochasticLQR (matrices A, B, Q, R, D); got {type(problem).__name__}"
        ) from None
    if A.shape != (1, 1) or B.shape != (1, 1):
        raise ProblemError(
            f"bounded_lqr_solution needs a 1-D state and one action (A and B 1×1); got A {A.shape}, B {B.shape}"
        )
    var = float((D @ D.T)[0, 0])
    if var <= 0:
        raise ProblemError(f"bounded_lqr_solution needs noise (DDᵀ > 0); got D = {D.tolist()}")
    bounds = getattr(problem, "action_bounds", None)
    low, high = (-math.inf, math.inf) if bounds is None else (float(bounds[0][0]), float(bounds[1][0]))
    return _Scalars(A[0, 0], B[0, 0], Q[0, 0], R[0, 0], var, float(problem.discount), low, high)


def _interval(box) -> tuple[float, float]:
    if isinstance(box, Box):
        if box.dim != 1:
            raise ProblemError(f"bounded_lqr_solution needs a 1-D box; got {box!r}")
        return float(box.lo[0]), float(box.hi[0])
    try:
        lo, hi = (float(v) for v in box)
    except (TypeError, ValueError):
        raise ProblemError(f"box must be a 1-D Box or (lo, hi); got {box!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ProblemError(f"box must be finite with lo < hi; got ({lo}, {hi})")
    return lo, hi


def _stationary_scale(s: _Scalars, K: float) -> float:
    """√(σ²/2κ) for the weakest restoring rate κ: the unconstrained loop BK − A, or −A once the action saturates."""
    rates = [s.B * K - s.A]
    if math.isfinite(s.low) or math.isfinite(s.high):
        rates.append(-s.A)
    kappa = max(min(rates), s.rho)  # a non-restoring loop gets the discount's scale; the doubling does the rest
    return math.sqrt(s.var / (2.0 * kappa))


def _central(x: np.ndarray, a: np.ndarray, h: float, s: _Scalars) -> np.ndarray:
    """Where central differences of the drift keep the scheme monotone: |f(x, a)|·h ≤ σ²."""
    return np.abs(s.A * x + s.B * a) * h <= s.var


def _operator(x: np.ndarray, a: np.ndarray, h: float, s: _Scalars):
    """ρI − L^a (N, N) sparse: an M-matrix (central where monotone, upwind elsewhere, reflecting ends)."""
    f = s.A * x + s.B * a
    central = _central(x, a, h, s)
    diffusion = 0.5 * s.var / h**2
    lower = diffusion - np.where(central, 0.5 * f / h, np.minimum(f, 0.0) / h)  # weight of V_{i−1}
    upper = diffusion + np.where(central, 0.5 * f / h, np.maximum(f, 0.0) / h)  # weight of V_{i+1}
    # Reflecting ends (ghost V_{−1} = V_1): V′ = 0, V″ = 2(V_1 − V_0)/h². Not exact for quadratics, but it keeps
    # the M-matrix, it is a genuine control problem (the reflected diffusion), and by the discrete maximum
    # principle its error reaches the box only through the discounted time spent at the ends, which `reach` bounds.
    lower[0], upper[0] = 0.0, 2.0 * diffusion
    lower[-1], upper[-1] = 2.0 * diffusion, 0.0
    return diags([-lower[1:], s.rho + lower + upper, -upper[:-1]], [-1, 0, 1], format="csc")


def _reach(x, a, h, s: _Scalars, in_box) -> tuple[float, float]:
    """max over the box of ρ·E_x∫e^{−ρt}1{X_t ∈ S}dt for S = the two ends and S = the upwind nodes."""
    ends = np.zeros((x.size, 2))
    ends[[0, -1], 0] = 1.0
    ends[1:-1, 1] = ~_central(x, a, h, s)[1:-1]
    occupation = spsolve(_operator(x, a, h, s), ends).reshape(x.size, 2)
    return tuple(s.rho * float(np.max(occupation[in_box, j])) for j in (0, 1))


def _howard(x, h, s: _Scalars, a, max_iterations: int):
    """Evaluate the policy exactly (sparse solve), improve a ← clip(B V′/R) with central V′, until a is fixed."""
    for iteration in range(1, max_iterations + 1):
        V = spsolve(_operator(x, a, h, s), -0.5 * (s.Q * x**2 + s.R * a**2))
        dV = np.gradient(V, h)
        dV[[0, -1]] = 0.0  # the reflecting ends: their equation has no drift, so the greedy action there is clip(0)
        new = np.clip(s.B * dV / s.R, s.low, s.high)
        change = float(np.max(np.abs(new - a)))
        a = new
        # V is stationary in a at the optimum, so a 1e-10 policy change moves V by ~1e-20; the second term is the
        # round-off floor of a difference quotient of V.
        roundoff = 100 * np.finfo(float).eps * float(np.max(np.abs(V))) * abs(s.B) / (s.R * h)
        if change <= max(1e-10 * max(1.0, float(np.max(np.abs(a)))), roundoff):
            return spsolve(_operator(x, a, h, s), -0.5 * (s.Q * x**2 + s.R * a**2)), a, iteration
    raise ProblemError(
        f"policy iteration did not converge in {max_iterations} iterations (last change {change:.3g}); "
        "expected a fixed policy"
    )
