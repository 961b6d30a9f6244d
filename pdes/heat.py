"""The heat equation ∂_t u = k·Δu on [0, 1]^d × [0, T] with u(x, 0) = Π_i sin(πx_i) and u = 0 on the boundary, both
built into u = Π_i sin(πx_i) + t·Π_i 4x_i(1 − x_i)·N(x, t) by an output transform."""
from __future__ import annotations

import torch

from hjb.errors import ProblemError, positive_int
from hjb.geometry.box import Box
from hjb.geometry.spacetime import SpaceTime
from hjb.pdes.residual_pde import ResidualPDE


def heat_product(dim: int = 5, diffusivity: float = 0.2, horizon: float = 0.1, name: str | None = None
                 ) -> ResidualPDE:
    """u_t − k·Δu = 0 (n, 1) on the unit cube × [0, T]; its exact solution Π sin(πx_i)·e^{−k d π² t} is in
    hjb.validation.heat."""
    d = positive_int(dim, "dim")
    if not float(diffusivity) > 0 or not float(horizon) > 0:
        raise ProblemError(f"diffusivity and horizon must be > 0; got {diffusivity!r} and {horizon!r}")
    k = float(diffusivity)

    def transform(x, y):
        s = x[:, :d]
        bubble = torch.prod(4.0 * s * (1.0 - s), dim=1, keepdim=True)
        return torch.prod(torch.sin(torch.pi * s), dim=1, keepdim=True) + x[:, d:] * bubble * y

    return ResidualPDE(name=name or f"heat{d}d", residual=lambda x, u, D: D.dt() - k * D.laplacian(),
                       domain=SpaceTime(Box([0.0] * d, [1.0] * d), float(horizon)), output_transform=transform,
                       parameters={"dim": d, "diffusivity": k, "horizon": float(horizon)})
