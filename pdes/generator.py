"""The controlled generator L^a V = ∇V·f + ½ Tr(ΣΣᵀ ∇²V), written once for every PDE and solver."""
from __future__ import annotations

import torch


def value_derivatives(
    V: torch.Tensor, x: torch.Tensor, *, create_graph: bool = True, hessian: bool = True
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """∇V (n, d) and ∇²V (n, d, d) of V (n, 1) with respect to x (n, d) by autograd."""
    dV = torch.autograd.grad(V.sum(), x, create_graph=True)[0]
    if not hessian:
        return (dV if create_graph else dV.detach()), None
    rows = [
        torch.autograd.grad(dV[:, i].sum(), x, create_graph=create_graph, retain_graph=True)[0]
        for i in range(x.shape[1])
    ]
    d2V = torch.stack(rows, dim=1)
    if not create_graph:
        dV = dV.detach()
    return dV, d2V


def generator(
    dV: torch.Tensor, d2V: torch.Tensor, drift: torch.Tensor, diffusion: torch.Tensor
) -> torch.Tensor:
    """L^a V (n, 1) = ∇V·f + ½ Σ_ij (ΣΣᵀ)_ij ∂_ij V from ∇V (n, d), ∇²V (n, d, d), f (n, d), Σ (n, d, k)."""
    transport = (dV * drift).sum(dim=-1, keepdim=True)
    covariance = diffusion @ diffusion.transpose(-1, -2)
    curvature = 0.5 * (covariance * d2V).sum(dim=(-2, -1)).unsqueeze(-1)
    return transport + curvature


def space_time_derivatives(
    V: torch.Tensor, xt: torch.Tensor, *, create_graph: bool = True
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """∂_t V (n, 1), ∇_x V (n, d), ∇_x²V (n, d, d) of V (n, 1) at space-time points xt (n, d + 1), time last."""
    d = xt.shape[1] - 1
    grad = torch.autograd.grad(V.sum(), xt, create_graph=True)[0]
    rows = [
        torch.autograd.grad(grad[:, i].sum(), xt, create_graph=create_graph, retain_graph=True)[0][:, :d]
        for i in range(d)
    ]
    dVdt, dV = grad[:, d:], grad[:, :d]
    if not create_graph:
        dVdt, dV = dVdt.detach(), dV.detach()
    return dVdt, dV, torch.stack(rows, dim=1)
