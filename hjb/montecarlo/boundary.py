"""What a simulated path does at the box's faces: nothing (the model is read at the state clipped into the box), exit
(it stops at the first exit, the chance of an exit between two Euler steps taken from the Brownian bridge) or
reflection (mirrored at the faces). Everything is done in the box's coordinates u: x, or log x on log boxes, where
the Euler step is taken (hjb.montecarlo.sde.em_step).

Exit between the steps: a path observed only at the steps misses the excursions out of the box between them, which
biases its exit time late by O(√dt); conditioned on its end points u₀, u₁ inside, a Brownian bridge with variance
rate v leaves through the face at lo with probability e^{−2(u₀−lo)(u₁−lo)/(v·dt)} (and likewise at hi), which
removes that bias (Gobet 2000: weak order 1, so Richardson pairs still apply). The path then carries that
probability as a killed mass rather than being stopped at random: no extra noise.

Reflection: the mirrored Euler step (u ↦ 2·hi − u past hi, 2·lo − u below lo) is the symmetrised Euler scheme of a
diffusion reflected normally at the faces, of weak order 1 for a Neumann condition (Bossy, Gobet, Talay 2004).
"""
from __future__ import annotations

import torch

from hjb.geometry.box import Box

Tensor = torch.Tensor


class Faces:
    """The faces of `box` as paths meet them under `behaviour` ("none", "exit" or "reflect")."""

    def __init__(self, box: Box, behaviour: str = "none"):
        self.behaviour, self.log = behaviour, box.scale == "log"
        self.lo = torch.as_tensor(box.lo, dtype=torch.float64)
        self.hi = torch.as_tensor(box.hi, dtype=torch.float64)
        self.u_lo, self.u_hi = (torch.log(b) if self.log else b for b in (self.lo, self.hi))

    def clip(self, x: Tensor) -> Tensor:
        """x (n, d) clipped into the box."""
        return torch.maximum(torch.minimum(x, self.hi), self.lo)

    def _u(self, x: Tensor) -> Tensor:
        return torch.log(x) if self.log else x

    def reflect(self, x: Tensor) -> Tensor:
        """x (n, d) mirrored into the box at its faces in u (repeatedly: u is folded with period 2(hi − lo))."""
        width = self.u_hi - self.u_lo
        folded = torch.remainder(self._u(x) - self.u_lo, 2.0 * width)
        u = self.u_lo + torch.where(folded > width, 2.0 * width - folded, folded)
        return torch.exp(u) if self.log else u

    def stay(self, x: Tensor, variance: Tensor, dt: float) -> Tensor:
        """≈ the probability (n,) that a driftless path from x (n, d) with variance rate v (n, d) of u stays in the box
        for dt: Π_faces (1 − 2Φ(−δ/√(v·dt))), δ the distance to the face in u (reflection principle, each face
        alone)."""
        scale = torch.sqrt(torch.clamp(variance * dt, min=1e-300))
        u = self._u(x)
        normal = torch.distributions.Normal(torch.zeros((), dtype=u.dtype), torch.ones((), dtype=u.dtype))
        near = 2.0 * normal.cdf(-torch.clamp(u - self.u_lo, min=0) / scale)
        far = 2.0 * normal.cdf(-torch.clamp(self.u_hi - u, min=0) / scale)
        return torch.prod(torch.clamp(1.0 - near, min=0) * torch.clamp(1.0 - far, min=0), dim=-1)

    def exit(self, x0: Tensor, x1: Tensor, variance: Tensor, dt: float) -> tuple[Tensor, Tensor]:
        """(p (n,), z (n, d)): the probability that the path from x0 to x1 (n, d) (x0 inside) left the box during the
        step, 1 where x1 is outside, else 1 − Π_faces (1 − e^{−2 δ₀δ₁/(v·dt)}) with δ₀, δ₁ the end points' distances
        to the face in u and v (n, d) the variance rate of u; and z, where it left: x1 clipped, or, from inside,
        x1 moved onto the face it most likely crossed."""
        u0, u1 = self._u(x0), self._u(x1)
        outside = ((u1 < self.u_lo) | (u1 > self.u_hi)).any(dim=-1)
        rate = torch.clamp(variance * dt, min=1e-300)
        low = torch.exp(-2.0 * torch.clamp(u0 - self.u_lo, min=0) * torch.clamp(u1 - self.u_lo, min=0) / rate)
        high = torch.exp(-2.0 * torch.clamp(self.u_hi - u0, min=0) * torch.clamp(self.u_hi - u1, min=0) / rate)
        stay = torch.prod((1.0 - low) * (1.0 - high), dim=-1)
        p = torch.where(outside, torch.ones_like(stay), 1.0 - stay)
        z = self.clip(x1)
        crossed = torch.stack([low, high], dim=-1).reshape(len(x1), -1).argmax(dim=-1)  # face 2i (lo) or 2i + 1 (hi)
        axis, upper = crossed // 2, (crossed % 2).bool()
        rows = torch.arange(len(x1))
        face = torch.where(upper, self.hi[axis], self.lo[axis])
        inside_z = z.clone()
        inside_z[rows, axis] = face
        return p, torch.where(outside.unsqueeze(-1), z, inside_z)


def box_variance(x: Tensor, sigma: Tensor, log: bool) -> Tensor:
    """The variance rate (n, d) of the box's coordinates at x (n, d) with Σ (n, d, k): diag(ΣΣᵀ), ÷ x² on log boxes."""
    variance = (sigma * sigma).sum(-1)
    return variance / x**2 if log else variance

