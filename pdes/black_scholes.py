"""The Black–Scholes PDE of a European option as a residual PDE in (S, t): ∂_t V + ½σ²S²∂_SS V + rS∂_S V − rV = 0 on
[0, S_max] × [0, T] with V(S, T) the payoff, V(0, t) = 0 (call) and linear growth ∂_S V = 1 at S_max.

The payoff's kink at (K, T) is a singularity (∂_SS V ~ 1/√(T − t)) that a smooth network cannot carry, so the terminal
condition is built in exactly: u = B(S, T − t) + (T − t)·N, with B the payoff carried by the heat kernel of the PDE's
diffusion frozen at the kink (normal volatility σK), equal to the payoff at T and smooth before; the network learns
the remainder V − B, whose curvature stays bounded near the kink."""
from __future__ import annotations

import math

import torch

from hjb.errors import ProblemError
from hjb.geometry.box import Box
from hjb.geometry.spacetime import SpaceTime
from hjb.pdes.conditions import Dirichlet, Neumann
from hjb.pdes.residual_pde import ResidualPDE

Tensor = torch.Tensor
TINY_TAU = 1e-30  # τ's floor, reached at t = T only: B is the payoff there to 1e-15·ς, and d and its derivatives finite


def heat_kernel_payoff(S: Tensor, tau: Tensor, strike: float, width: float, call: bool = True) -> Tensor:
    """B (n, 1) at S, τ (n, 1): max(S − K, 0) (call) or max(K − S, 0) (put) carried τ by ∂_τB = ½ς²∂_SS B, ς = width:
    B = (S − K)·Φ(d) + ς√τ·φ(d) (call) or (K − S)·Φ(−d) + ς√τ·φ(d) (put), d = (S − K)/(ς√τ); B = payoff at τ = 0."""
    spread = width * torch.sqrt(torch.clamp(tau, min=TINY_TAU))
    d = (S - strike) / spread
    bump = spread * torch.exp(-0.5 * d**2) / math.sqrt(2.0 * math.pi)
    return (S - strike) * torch.special.ndtr(d) + bump if call else (strike - S) * torch.special.ndtr(-d) + bump


def black_scholes_call(strike: float = 1.0, rate: float = 0.05, sigma: float = 0.2, maturity: float = 1.0,
                       s_max: float = 3.0, name: str = "black_scholes_call") -> ResidualPDE:
    """A European call: payoff max(S − K, 0) at T (built in: u = B + (T − t)·N, B = heat_kernel_payoff at width σK),
    V = 0 at S = 0, ∂_S V = 1 at S_max (deep in the money)."""
    for label, value in (("strike", strike), ("sigma", sigma), ("maturity", maturity), ("s_max", s_max)):
        if not float(value) > 0:
            raise ProblemError(f"{label} must be > 0; got {value!r}")
    K, r, s2, T = float(strike), float(rate), float(sigma) ** 2, float(maturity)

    def residual(x, u, D):
        S = x[:, :1]
        return D.dt() + 0.5 * s2 * S**2 * D.dxx(0) + r * S * D.dx(0) - r * u

    def transform(x: Tensor, y: Tensor) -> Tensor:
        tau = T - x[:, 1:2]
        return heat_kernel_payoff(x[:, :1], tau, K, float(sigma) * K) + tau * y

    return ResidualPDE(name=name, residual=residual, domain=SpaceTime(Box([0.0], [float(s_max)]), T),
                       conditions=[Dirichlet(0.0, on="x0_lo"), Neumann(1.0, on="x0_hi")], output_transform=transform,
                       parameters={"strike": K, "rate": r, "sigma": float(sigma), "maturity": T, "s_max": float(s_max)})
