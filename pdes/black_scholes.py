"""The Black–Scholes PDE of a European option as a residual PDE in (S, t): ∂_t V + ½σ²S²∂_SS V + rS∂_S V − rV = 0 on
[0, S_max] × [0, T] with V(S, T) the payoff, V(0, t) = 0 (call) and linear growth ∂_S V = 1 at S_max."""
from __future__ import annotations

import numpy as np

from hjb.errors import ProblemError
from hjb.geometry.box import Box
from hjb.geometry.spacetime import SpaceTime
from hjb.pdes.conditions import Dirichlet, Neumann, Terminal
from hjb.pdes.residual_pde import ResidualPDE


def black_scholes_call(strike: float = 1.0, rate: float = 0.05, sigma: float = 0.2, maturity: float = 1.0,
                       s_max: float = 3.0, name: str = "black_scholes_call") -> ResidualPDE:
    """A European call: payoff max(S − K, 0) at T, V = 0 at S = 0, ∂_S V = 1 at S_max (deep in the money)."""
    for label, value in (("strike", strike), ("sigma", sigma), ("maturity", maturity), ("s_max", s_max)):
        if not float(value) > 0:
            raise ProblemError(f"{label} must be > 0; got {value!r}")
    K, r, s2 = float(strike), float(rate), float(sigma) ** 2

    def residual(x, u, D):
        S = x[:, :1]
        return D.dt() + 0.5 * s2 * S**2 * D.dxx(0) + r * S * D.dx(0) - r * u

    def payoff(z: np.ndarray) -> np.ndarray:
        return np.maximum(z[:, 0] - K, 0.0)

    return ResidualPDE(name=name, residual=residual, domain=SpaceTime(Box([0.0], [float(s_max)]), float(maturity)),
                       conditions=[Dirichlet(0.0, on="x0_lo"), Neumann(1.0, on="x0_hi"), Terminal(payoff)],
                       parameters={"strike": K, "rate": r, "sigma": float(sigma), "maturity": float(maturity),
                                   "s_max": float(s_max)})
