"""A residual PDE on a SpaceTime cylinder: a European put by the Black–Scholes PDE
∂_t V + ½σ²S²∂_SS V + rS∂_S V − rV = 0 on [0, S_max] × [0, T], V(S, T) = max(K − S, 0), V(0, t) = K·e^{−r(T − t)} and
V(S_max, t) = 0 (far out of the money). The payoff's kink is built in by the output transform (see the README, "Any
PDE").  Solve and export it with

    hjb solve examples/black_scholes_put.py --out runs/put
    hjb export runs/put --points 101 --times 11
"""
import math

import numpy as np
import torch

from hjb.geometry import Box, SpaceTime
from hjb.pdes.conditions import Dirichlet
from hjb.pdes.residual_pde import ResidualPDE

K, r, sigma, T, S_max = 1.0, 0.05, 0.2, 1.0, 3.0


def residual(x, u, D):
    """R = ∂_t V + ½σ²S²∂_SS V + rS∂_S V − rV (n, 1) at x = (S, t) (n, 2)."""
    S = x[:, :1]
    return D.dt() + 0.5 * sigma**2 * S**2 * D.dxx(0) + r * S * D.dx(0) - r * u


def payoff_carried(S, tau):
    """max(K − S, 0) carried τ by the heat kernel of width ς = σK: (K − S)Φ(−d) + ς√τ φ(d), d = (S − K)/(ς√τ)."""
    spread = sigma * K * torch.sqrt(torch.clamp(tau, min=1e-30))
    d = (S - K) / spread
    return (K - S) * torch.special.ndtr(-d) + spread * torch.exp(-0.5 * d**2) / math.sqrt(2 * math.pi)


def transform(x, y):
    """u = B(S, T − t) + (T − t)·y: the payoff at t = T exactly, the network's y learns the smooth rest."""
    tau = T - x[:, 1:2]
    return payoff_carried(x[:, :1], tau) + tau * y


pde = ResidualPDE(name="black_scholes_put", domain=SpaceTime(Box([0.0], [S_max]), T), residual=residual,
                  conditions=[Dirichlet(lambda z: K * np.exp(-r * (T - z[:, 1])), on="x0_lo"),
                              Dirichlet(0.0, on="x0_hi")],
                  output_transform=transform)
