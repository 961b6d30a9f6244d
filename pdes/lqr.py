"""Stochastic LQR: dX = (AX + Ba) dt + D dW, r = −½(xᵀQx + aᵀRa), any dimension."""
from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import torch

from hjb.errors import ProblemError, positive_int
from hjb.geometry.box import Box
from hjb.pdes.matrices import matrix, square, symmetric
from hjb.pdes.problem import ControlProblem

# From this dimension on, a matrix with at most SPARSE_MAX_DENSITY of its entries non-zero is applied in CSR form, at
# a cost ∝ its non-zeros: a tridiagonal 1000×1000 A on 768 rows takes 3.7 ms against 35 ms dense.
SPARSE_MIN_DIM = 64
SPARSE_MAX_DENSITY = 0.1


def tensor(M: np.ndarray) -> torch.Tensor:
    """M as a contiguous float64 tensor (x @ Mᵀ with a strided Mᵀ is many times slower on the CPU)."""
    return torch.as_tensor(np.ascontiguousarray(M), dtype=torch.float64)


def right_product(M: np.ndarray) -> Callable[[torch.Tensor], torch.Tensor]:
    """x ↦ x Mᵀ (n, d) for M (d, d) and x (n, d): by a dense product, or for a large sparse M (SPARSE_MIN_DIM,
    SPARSE_MAX_DENSITY) as (M xᵀ)ᵀ with M in CSR form (differentiable in x, twice)."""
    d = M.shape[0]
    if d < SPARSE_MIN_DIM or np.count_nonzero(M) > SPARSE_MAX_DENSITY * M.size:
        MT = tensor(M.T)
        return lambda x: x @ MT
    with warnings.catch_warnings():  # torch calls its CSR support beta
        warnings.simplefilter("ignore", UserWarning)
        csr = tensor(M).to_sparse_csr()
    return lambda x: (csr @ x.T).T


class StochasticLQR(ControlProblem):
    """dX = (AX + Ba) dt + D dW, r(x, a) = −½(xᵀQx + aᵀRa); greedy action a = R⁻¹Bᵀ∇V.

    A (d, d), B (d, m), Q (d, d) symmetric ⪰ 0, R (m, m) symmetric ≻ 0, D (d, k); domain defaults to [−2, 2]^d;
    action_bounds (low, high), m numbers each, clip the greedy action (the Hamiltonian is concave in a);
    initial_law(n, rng) -> (n, d), state_names and action_names as in ControlProblem (default x0…, a0…).
    """

    def __init__(self, A, B, Q, R, D, discount: float, domain: Box | None = None, name: str = "lqr",
                 action_bounds=None, initial_law=None, state_names=None, action_names=None):
        A = square(A, "LQR matrix A")
        d = A.shape[0]
        B = matrix(B, "LQR matrix B", rows=d)
        m = B.shape[1]
        Q = symmetric(matrix(Q, "LQR matrix Q", d, d), "LQR matrix Q", "semi")
        R = symmetric(matrix(R, "LQR matrix R", m, m), "LQR matrix R", "positive")
        D = matrix(D, "LQR matrix D", rows=d)
        if domain is not None and (not hasattr(domain, "dim") or domain.dim != d):
            raise ProblemError(f"LQR domain must be a Box of dimension {d} (A is {d}×{d}); got {domain!r}")
        self.A, self.B, self.Q, self.R, self.D = A, B, Q, R, D
        times_AT, times_Q = right_product(A), right_product(Q.T)
        BT, Rt, Dt = tensor(B.T), tensor(R), tensor(D)
        gainT = tensor(np.linalg.solve(R, B.T).T)  # (R⁻¹Bᵀ)ᵀ (d, m)

        def drift(x, a):
            return times_AT(x) + a @ BT

        def diffusion(x, a):
            return Dt.expand(x.shape[0], -1, -1)

        def reward(x, a):
            state_cost = (times_Q(x) * x).sum(-1, keepdim=True)
            action_cost = ((a @ Rt) * a).sum(-1, keepdim=True)
            return -0.5 * (state_cost + action_cost)

        def greedy_action(x, dV, d2V):
            return dV @ gainT

        super().__init__(
            name=name,
            drift=drift,
            diffusion=diffusion,
            reward=reward,
            discount=discount,
            domain=domain if domain is not None else Box([-2.0] * d, [2.0] * d),
            action_dim=m,
            action_bounds=action_bounds,
            greedy_action=greedy_action,
            greedy_uses_hessian=False,
            parameters={"A": A, "B": B, "Q": Q, "R": R, "D": D, "discount": discount},
            initial_law=initial_law,
            state_names=state_names,
            action_names=action_names,
        )


def seed_lqr() -> StochasticLQR:
    """The seed's scalar LQR: α = −0.5, β = 1, q = 1, r_a = 0.1, σ = 0.3, ρ = 0.1 on [−2, 2]."""
    return StochasticLQR(A=[[-0.5]], B=[[1.0]], Q=[[1.0]], R=[[0.1]], D=[[0.3]], discount=0.1, name="lqr1d")


def coupled_lqr(dim: int, controls: int = 2, seed: int = 0, discount: float = 0.1, half_width: float = 1.0,
                name: str | None = None) -> StochasticLQR:
    """A d-dimensional LQR with every matrix coupled, drawn from `seed`: A = −diag(0.5…1) + 0.2(G − Gᵀ)/√d (stable:
    its symmetric part is −diag(0.5…1)), B (d, m) normal/√m, Q = ½I + MMᵀ/(2d), R = diag(0.1…0.2) + 0.02 off the
    diagonal, D = 0.3(I + 0.2N/√d) (d noise columns), on [−h, h]^d."""
    d, m = positive_int(dim, "dim"), positive_int(controls, "controls")
    rng = np.random.default_rng(seed)
    G = rng.normal(size=(d, d))
    A = -np.diag(np.linspace(0.5, 1.0, d)) + 0.2 * (G - G.T) / np.sqrt(d)
    B = rng.normal(size=(d, m)) / np.sqrt(m)
    M = rng.normal(size=(d, d))
    Q = 0.5 * np.eye(d) + M @ M.T / (2 * d)
    R = np.diag(np.linspace(0.1, 0.2, m)) + 0.02 * (np.ones((m, m)) - np.eye(m))
    D = 0.3 * (np.eye(d) + 0.2 * rng.normal(size=(d, d)) / np.sqrt(d))
    return StochasticLQR(A, B, Q, R, D, discount, domain=Box([-half_width] * d, [half_width] * d),
                         name=name or f"lqr{d}d")


def banded_lqr(dim: int, controls: int = 2, noise: int = 4, seed: int = 0, discount: float = 0.1,
               half_width: float = 1.0, name: str | None = None) -> StochasticLQR:
    """A d-dimensional LQR whose coefficients cost O(d) per point, drawn from `seed`: each state coupled to its
    neighbours, A = −diag(0.5…1) + 0.3(S − Sᵀ) (S the shift; stable: its symmetric part is −diag(0.5…1)),
    Q = ½I + 0.2(S + Sᵀ) (eigenvalues in [0.1, 0.9]), B (d, m) normal/√m, R as in coupled_lqr, and `noise` noise
    columns, D (d, k) = 0.3·normal/√k, on [−h, h]^d. The family for measuring the solver's cost against d: a dense
    A or Q makes the problem's own f and r O(d²) per point."""
    d, m, k = positive_int(dim, "dim"), positive_int(controls, "controls"), positive_int(noise, "noise")
    rng = np.random.default_rng(seed)
    shift = np.eye(d, k=1)
    A = -np.diag(np.linspace(0.5, 1.0, d)) + 0.3 * (shift - shift.T)
    Q = 0.5 * np.eye(d) + 0.2 * (shift + shift.T)
    B = rng.normal(size=(d, m)) / np.sqrt(m)
    R = np.diag(np.linspace(0.1, 0.2, m)) + 0.02 * (np.ones((m, m)) - np.eye(m))
    D = 0.3 * rng.normal(size=(d, k)) / np.sqrt(k)
    return StochasticLQR(A, B, Q, R, D, discount, domain=Box([-half_width] * d, [half_width] * d),
                         name=name or f"banded_lqr{d}d")
