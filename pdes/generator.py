"""The controlled generator L^a V = ∇V·f + ½ Tr(ΣΣᵀ ∇²V), written once for every PDE and solver; its curvature
term also without the full Hessian: exactly along Σ's k columns (k reverse passes instead of d), or by an unbiased
randomised (Hutchinson) estimate."""
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


# Up to this dimension the residuals take the full Hessian (d reverse passes; the cases up to 3-D keep their numbers
# bit for bit); above it the curvature is taken along Σ's k columns (directional_curvature).
FULL_HESSIAN_MAX_DIM = 3


# Above this many noise columns (and above FULL_HESSIAN_MAX_DIM) the training residual estimates the curvature
# (paired_curvature: two independent Hutchinson estimates per point) instead of taking it along every column.
EXACT_CURVATURE_MAX_COLUMNS = 16
# Probes of the one estimate that diagnostics (probe residual, measure, export) then take: unbiased at each point,
# its variance (a fraction 1/DIAGNOSTIC_PROBES of one probe's) adds to the mean square residual they report.
DIAGNOSTIC_PROBES = 16


def estimates_curvature(d: int, k: int) -> bool:
    """Whether the training residual in d dimensions with k noise columns estimates Tr(ΣΣᵀ∇²V) (paired_curvature)."""
    return d > FULL_HESSIAN_MAX_DIM and k > EXACT_CURVATURE_MAX_COLUMNS


def needs_hessian(d: int, greedy_uses_hessian: bool = False) -> bool:
    """Whether ∇²V is formed in d dimensions: up to FULL_HESSIAN_MAX_DIM, or for a greedy action that reads it."""
    return d <= FULL_HESSIAN_MAX_DIM or greedy_uses_hessian


def generator(
    dV: torch.Tensor, d2V: torch.Tensor | None, drift: torch.Tensor, diffusion: torch.Tensor,
    x: torch.Tensor | None = None, curvature: str = "exact",
) -> torch.Tensor:
    """L^a V (n, 1) = ∇V·f + ½ Σ_ij (ΣΣᵀ)_ij ∂_ij V from ∇V (n, d), ∇²V (n, d, d), f (n, d), Σ (n, d, k); with
    d2V None, ½ Tr(ΣΣᵀ∇²V) from ∇V's graph to x (n, d): curvature="exact" along Σ's columns (directional_curvature),
    "paired" two independent estimates of it (n, 2) (paired_curvature), "estimate" one unbiased estimate of it, the
    mean of DIAGNOSTIC_PROBES Hutchinson probes, "auto" the estimate where estimates_curvature(d, k), else exact."""
    transport = (dV * drift).sum(dim=-1, keepdim=True)
    if d2V is None:
        if x is None:
            raise ValueError("generator without ∇²V needs the points x that ∇V was taken at")
        if curvature == "auto":  # what diagnostics take: estimated where training estimates it
            curvature = "estimate" if estimates_curvature(dV.shape[1], diffusion.shape[-1]) else "exact"
        if curvature == "paired":  # (n, 2): two independent estimates of L^a V (paired_curvature)
            return transport + 0.5 * paired_curvature(dV, x, diffusion)
        if curvature == "estimate":
            return transport + 0.5 * hutchinson_curvature(dV, x, diffusion, DIAGNOSTIC_PROBES)
        return transport + 0.5 * directional_curvature(dV, x, diffusion)
    covariance = diffusion @ diffusion.transpose(-1, -2)
    curvature = 0.5 * (covariance * d2V).sum(dim=(-2, -1)).unsqueeze(-1)
    return transport + curvature


def space_time_derivatives(
    V: torch.Tensor, xt: torch.Tensor, *, create_graph: bool = True, hessian: bool = True
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """∂_t V (n, 1), ∇_x V (n, d), ∇_x²V (n, d, d) of V (n, 1) at space-time points xt (n, d + 1), time last; with
    hessian=False ∇²V is None and ∇_x V keeps its graph to xt (for directional_curvature)."""
    d = xt.shape[1] - 1
    grad = torch.autograd.grad(V.sum(), xt, create_graph=True)[0]
    if not hessian:
        return grad[:, d:], grad[:, :d], None
    rows = [
        torch.autograd.grad(grad[:, i].sum(), xt, create_graph=create_graph, retain_graph=True)[0][:, :d]
        for i in range(d)
    ]
    dVdt, dV = grad[:, d:], grad[:, :d]
    if not create_graph:
        dVdt, dV = dVdt.detach(), dV.detach()
    return dVdt, dV, torch.stack(rows, dim=1)


def directional_curvature(dV: torch.Tensor, x: torch.Tensor, directions: torch.Tensor, *,
                          create_graph: bool = True) -> torch.Tensor:
    """Σ_j v_jᵀ ∇²V v_j (n, 1) from ∇V (n, d) (with its graph to x (n, d), or to space-time points (n, d + 1), time
    last) along the columns v_j of directions (n, d, k), held constant: one reverse pass of ∇V·v_j per column, so k
    passes where the Hessian takes d. With directions = Σ it is Tr(ΣΣᵀ∇²V) exactly."""
    directions = directions.detach()
    d = dV.shape[1]
    total = torch.zeros(x.shape[0], 1, dtype=dV.dtype, device=dV.device)
    for j in range(directions.shape[-1]):
        v = directions[:, :, j]
        hv = torch.autograd.grad((dV * v).sum(), x, create_graph=create_graph, retain_graph=True)[0][:, :d]
        total = total + (hv * v).sum(dim=-1, keepdim=True)
    return total


def hutchinson_curvature(dV: torch.Tensor, x: torch.Tensor, diffusion: torch.Tensor, probes: int,
                         generator: torch.Generator | None = None, *, create_graph: bool = True) -> torch.Tensor:
    """An unbiased estimate (n, 1) of Tr(ΣΣᵀ∇²V): the mean over `probes` Rademacher vectors z (n, k) of
    (Σz)ᵀ∇²V(Σz), one reverse pass each whatever d and k (E zzᵀ = I). Its variance is 2Σ_{i≠j} (ΣᵀHΣ)_ij² / probes
    (none for k = 1). A loss built from it needs two independent estimates (mean R₁R₂), because the square of one
    is biased by its variance."""
    n, _, k = diffusion.shape
    signs = torch.randint(0, 2, (n, k, probes), generator=generator, dtype=torch.int64).to(diffusion.dtype) * 2 - 1
    return directional_curvature(dV, x, diffusion.detach() @ signs, create_graph=create_graph) / probes


def paired_curvature(dV: torch.Tensor, x: torch.Tensor, diffusion: torch.Tensor) -> torch.Tensor:
    """Two independent one-probe Hutchinson estimates (n, 2) of Tr(ΣΣᵀ∇²V), each (Σz)ᵀ∇²V(Σz) for a Rademacher z
    (n, k), from ∇V's graph to x: the product of the two residuals they give is an unbiased estimate of the squared
    residual (paired_mean_square), where the square of one would add its variance. Two reverse passes whatever d, k."""
    return torch.cat([hutchinson_curvature(dV, x, diffusion, 1), hutchinson_curvature(dV, x, diffusion, 1)], dim=1)


def paired_mean_square(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """DeepXDE loss: mean(R₁R₂) of paired residual estimates (n, 2), unbiased for mean R² when they are independent
    (it may come out negative); mean((y_true − y_pred)²) for a single column, DeepXDE's MSE."""
    if y_pred.shape[-1] == 2:
        return torch.mean(y_pred[:, 0] * y_pred[:, 1])
    return torch.mean(torch.square(y_true - y_pred))
