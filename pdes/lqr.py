"""Stochastic LQR: dX = (AX + Ba) dt + D dW, r = −½(xᵀQx + aᵀRa), any dimension."""
from __future__ import annotations

import numpy as np
import torch

from hjb.errors import ProblemError
from hjb.geometry.box import Box
from hjb.pdes.problem import ControlProblem


def _matrix(name: str, value, shape: tuple[int, int] | None = None) -> np.ndarray:
    m = np.atleast_2d(np.asarray(value, dtype=float))
    if m.ndim != 2 or not np.all(np.isfinite(m)):
        raise ProblemError(f"LQR matrix {name} must be a finite 2-D array; got {np.asarray(value).shape}")
    if shape is not None and m.shape != shape:
        raise ProblemError(f"LQR matrix {name} must have shape {shape}; got {m.shape}")
    return m


class StochasticLQR(ControlProblem):
    """dX = (AX + Ba) dt + D dW, r(x, a) = −½(xᵀQx + aᵀRa); greedy action a = R⁻¹Bᵀ∇V.

    A (d, d), B (d, m), Q (d, d) symmetric ⪰ 0, R (m, m) symmetric ≻ 0, D (d, k); domain defaults to [−2, 2]^d;
    action_bounds (low, high), m numbers each, clip the greedy action (the Hamiltonian is concave in a).
    """

    def __init__(self, A, B, Q, R, D, discount: float, domain: Box | None = None, name: str = "lqr",
                 action_bounds=None):
        A = _matrix("A", A)
        d = A.shape[0]
        if A.shape != (d, d):
            raise ProblemError(f"LQR matrix A must be square; got {A.shape}")
        B = _matrix("B", B)
        if B.shape[0] != d:
            raise ProblemError(f"LQR matrix B must have shape ({d}, m); got {B.shape}")
        m = B.shape[1]
        Q, R = _matrix("Q", Q, (d, d)), _matrix("R", R, (m, m))
        D = _matrix("D", D)
        if D.shape[0] != d:
            raise ProblemError(f"LQR matrix D must have shape ({d}, k); got {D.shape}")
        if not np.allclose(R, R.T) or np.linalg.eigvalsh((R + R.T) / 2).min() <= 0:
            raise ProblemError("LQR matrix R must be symmetric positive definite")
        if not np.allclose(Q, Q.T) or np.linalg.eigvalsh((Q + Q.T) / 2).min() < -1e-12:
            raise ProblemError("LQR matrix Q must be symmetric positive semi-definite")
        if domain is not None and (not hasattr(domain, "dim") or domain.dim != d):
            raise ProblemError(f"LQR domain must be a Box of dimension {d} (A is {d}×{d}); got {domain!r}")
        self.A, self.B, self.Q, self.R, self.D = A, B, Q, R, D
        # Contiguous transposes: x @ Mᵀ with a strided Mᵀ is many times slower on the CPU.
        def tensor(M):
            return torch.as_tensor(np.ascontiguousarray(M), dtype=torch.float64)

        AT, BT, Qt, Rt, Dt = tensor(A.T), tensor(B.T), tensor(Q), tensor(R), tensor(D)
        gainT = tensor(np.linalg.solve(R, B.T).T)  # (R⁻¹Bᵀ)ᵀ (d, m)

        def drift(x, a):
            return x @ AT + a @ BT

        def diffusion(x, a):
            return Dt.expand(x.shape[0], -1, -1)

        def reward(x, a):
            state_cost = ((x @ Qt) * x).sum(-1, keepdim=True)
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
        )


def seed_lqr() -> StochasticLQR:
    """The seed's scalar LQR: α = −0.5, β = 1, q = 1, r_a = 0.1, σ = 0.3, ρ = 0.1 on [−2, 2]."""
    return StochasticLQR(A=[[-0.5]], B=[[1.0]], Q=[[1.0]], R=[[0.1]], D=[[0.3]], discount=0.1, name="lqr1d")
