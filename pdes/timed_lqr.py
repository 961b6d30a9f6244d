"""Time-dependent LQRs: dX = (AX + Ba) dt + D dW, r(x, a, t) = −½(w(t)·xᵀQx + aᵀRa), discount ρ ≥ 0, greedy action
a = R⁻¹Bᵀ∇V. A finite horizon T with terminal reward −½xᵀGx (D may be 0: a deterministic problem), or an infinite
horizon with w(t) = 1 + ε sin(2πt/τ) (a PeriodicProblem)."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from hjb.errors import ProblemError, positive
from hjb.geometry.box import Box
from hjb.pdes.finite_horizon import FiniteHorizonProblem
from hjb.pdes.lqr import right_product, tensor
from hjb.pdes.matrices import matrix, square, symmetric
from hjb.pdes.periodic import PERIOD_REQUIREMENT, PeriodicProblem

Tensor = torch.Tensor


def _coefficients(A, B, Q, R, D, domain: Box | None) -> dict:
    """The checked matrices and the torch functions drift(x, a, t), diffusion(x, a, t), cost(x, a) = xᵀQx and aᵀRa,
    greedy_action(x, t, ∇V, ∇²V) shared by both kinds."""
    A = square(A, "LQR matrix A")
    d = A.shape[0]
    B, D = matrix(B, "LQR matrix B", rows=d), matrix(D, "LQR matrix D", rows=d)
    Q = symmetric(matrix(Q, "LQR matrix Q", d, d), "LQR matrix Q", "semi")
    R = symmetric(matrix(R, "LQR matrix R", B.shape[1], B.shape[1]), "LQR matrix R", "positive")
    if domain is not None and getattr(domain, "dim", None) != d:
        raise ProblemError(f"LQR domain must be a Box of dimension {d} (A is {d}×{d}); got {domain!r}")
    times_AT, times_Q = right_product(A), right_product(Q.T)
    BT, Rt, Dt = tensor(B.T), tensor(R), tensor(D)
    gainT = tensor(np.linalg.solve(R, B.T).T)
    return {
        "matrices": {"A": A, "B": B, "Q": Q, "R": R, "D": D},
        "drift": lambda x, a, t: times_AT(x) + a @ BT,
        "diffusion": lambda x, a, t: Dt.expand(x.shape[0], -1, -1),
        "state_cost": lambda x: (times_Q(x) * x).sum(-1, keepdim=True),
        "action_cost": lambda a: ((a @ Rt) * a).sum(-1, keepdim=True),
        "greedy_action": lambda x, t, dV, d2V: dV @ gainT,
        "domain": domain if domain is not None else Box([-2.0] * d, [2.0] * d),
    }


def finite_horizon_lqr(A, B, Q, R, D, G, horizon: float, discount: float = 0.0, domain: Box | None = None,
                       name: str = "finite_lqr", state_names: Sequence[str] | None = None,
                       action_names: Sequence[str] | None = None) -> FiniteHorizonProblem:
    """Maximise E[∫_t^T e^{−ρ(s−t)} r ds + e^{−ρ(T−t)} (−½X_TᵀGX_T)] with r = −½(xᵀQx + aᵀRa); D = 0 (d, 1) for the
    deterministic problem. Domain defaults to [−2, 2]^d."""
    c = _coefficients(A, B, Q, R, D, domain)
    d = c["matrices"]["A"].shape[0]
    G = symmetric(matrix(G, "LQR matrix G", d, d), "LQR matrix G", "semi")
    times_G = right_product(G.T)
    return FiniteHorizonProblem(
        name=name, drift=c["drift"], diffusion=c["diffusion"],
        reward=lambda x, a, t: -0.5 * (c["state_cost"](x) + c["action_cost"](a)),
        terminal=lambda x: -0.5 * (times_G(x) * x).sum(-1, keepdim=True),
        horizon=horizon, domain=c["domain"], action_dim=c["matrices"]["B"].shape[1],
        greedy_action=c["greedy_action"], greedy_uses_hessian=False, discount=discount,
        parameters={**c["matrices"], "G": G, "horizon": horizon, "discount": discount}, state_names=state_names,
        action_names=action_names)


def periodic_lqr(A, B, Q, R, D, discount: float, period: float = 1.0, amplitude: float = 0.5,
                 domain: Box | None = None, name: str = "periodic_lqr", state_names: Sequence[str] | None = None,
                 action_names: Sequence[str] | None = None) -> PeriodicProblem:
    """Maximise E ∫_t^∞ e^{−ρ(s−t)} r ds with r = −½(w(s)·xᵀQx + aᵀRa), w(s) = 1 + ε sin(2πs/τ), ε = amplitude with
    |ε| < 1 (so that w > 0). Domain defaults to [−2, 2]^d."""
    tau = positive(period, PERIOD_REQUIREMENT)
    if not (np.isfinite(amplitude) and abs(amplitude) < 1):
        raise ProblemError(f"the amplitude ε of w(t) = 1 + ε sin(2πt/τ) must satisfy |ε| < 1; got {amplitude!r}")
    c = _coefficients(A, B, Q, R, D, domain)
    omega = 2.0 * np.pi / tau

    def reward(x: Tensor, a: Tensor, t: Tensor) -> Tensor:
        return -0.5 * ((1.0 + amplitude * torch.sin(omega * t)) * c["state_cost"](x) + c["action_cost"](a))

    return PeriodicProblem(
        name=name, drift=c["drift"], diffusion=c["diffusion"], reward=reward, discount=discount, period=tau,
        domain=c["domain"], action_dim=c["matrices"]["B"].shape[1], greedy_action=c["greedy_action"],
        greedy_uses_hessian=False,
        parameters={**c["matrices"], "discount": discount, "period": tau, "amplitude": amplitude},
        state_names=state_names, action_names=action_names)
