"""Feynman–Kac Monte Carlo: V^α(x) = E_x[∫_0^T e^{−ρs} r(X_s, α(X_s)) ds + e^{−ρT} V(X_T)] by Euler–Maruyama."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from hjb.pdes.problem import ControlProblem

Tensor = torch.Tensor
BLOCK = 64  # paths per noise stream: path j's Brownian increments depend on (seed, j) alone, not on `paths`


@dataclass(frozen=True)
class MonteCarloEstimate:
    """Estimates of V^α at the start points (n,) with their Monte Carlo standard errors (n,)."""

    mean: np.ndarray
    stderr: np.ndarray


def extended_derivatives(
    x: Tensor, c: Tensor, log: bool, dV: Tensor, d2V: Tensor | None
) -> tuple[Tensor, Tensor | None]:
    """∇V (n, d) and ∇²V (n, d, d) at x of V's second-order Taylor polynomial about the clipped state c (n, d),
    taken in the box's coordinates u (u = log x on log boxes, else u = x); from ∇V(c) (n, d), ∇²V(c) (n, d, d).

    Inside the box (x = c) these are ∇V(c), ∇²V(c). With d2V None the polynomial is of first order."""
    if not log:
        if d2V is None:
            return dV, None
        return dV + (d2V @ (x - c).unsqueeze(-1)).squeeze(-1), d2V
    # In u: V_u = c ∘ ∇V, V_uu = diag(c) ∇²V diag(c) + diag(V_u); back in x: ∇V = g / x with g = V_u + V_uu Δu,
    # ∇²V = (V_uu − diag(g)) / (x xᵀ).
    Vu = c * dV
    if d2V is None:
        return Vu / x, None
    Vuu = c.unsqueeze(-1) * c.unsqueeze(-2) * d2V + torch.diag_embed(Vu)
    g = Vu + (Vuu @ (torch.log(x) - torch.log(c)).unsqueeze(-1)).squeeze(-1)
    return g / x, (Vuu - torch.diag_embed(g)) / (x.unsqueeze(-1) * x.unsqueeze(-2))


class _Path:
    """Euler–Maruyama state and running discounted reward of one set of paths with step dt."""

    def __init__(self, problem, x0, dt, clip, policy, gradient):
        self.problem, self.x, self.dt, self.clip, self.policy = problem, x0.clone(), dt, clip, policy
        self.gradient = gradient
        self.log = problem.domain.scale == "log"
        self.t, self.total = 0.0, torch.zeros(x0.shape[0], dtype=x0.dtype)

    def step(self, dW: Tensor) -> None:
        p, x = self.problem, self.x
        c = self.clip(x)
        a = self.policy(c)
        self.total += np.exp(-p.discount * self.t) * p.reward(x, a)[:, 0] * self.dt
        sigma = p.diffusion(x, a)
        noise = (sigma @ dW.unsqueeze(-1)).squeeze(-1)
        if self.gradient is not None:
            # Control variate: e^{−ρt_j}[∇V·ΣΔW + ½(ΣΔW)ᵀ∇²V(ΣΔW) − ½Tr(ΣΣᵀ∇²V)dt] has mean exactly zero
            # and is V's Itô increment up to drift terms: subtracting it cancels the noise of V along the path.
            # Outside the box ∇V, ∇²V continue V's Taylor polynomial in the box's coordinates: frozen at the
            # clipped state, ∇V·Σ(x)ΔW would grow with x where Σ does (Merton: Σ ∝ x) into heavy-tailed noise.
            derivatives = self.gradient(c)
            dV, d2V = derivatives if isinstance(derivatives, tuple) else (derivatives, None)
            dV, d2V = extended_derivatives(x, c, self.log, dV, d2V)
            cv = (dV * noise).sum(-1)
            if d2V is not None:
                quadratic = torch.einsum("ni,nij,nj->n", noise, d2V, noise)
                trace = (d2V * (sigma @ sigma.transpose(-1, -2))).sum(dim=(-2, -1)) * self.dt
                cv = cv + 0.5 * (quadratic - trace)
            self.total -= np.exp(-p.discount * self.t) * cv
        drift = p.drift(x, a)
        if self.log:
            # Log boxes hold positive states: step log x (Itô), exact for geometric Brownian motion with the
            # coefficients frozen over the step, and X stays > 0 (an Euler step in x can cross zero).
            variance = (sigma * sigma).sum(-1)
            self.x = x * torch.exp((drift / x - 0.5 * variance / x**2) * self.dt + noise / x)
        else:
            self.x = x + drift * self.dt + noise
        self.t += self.dt

    def value(self, tail) -> Tensor:
        if tail is None:
            return self.total
        return self.total + np.exp(-self.problem.discount * self.t) * tail(self.clip(self.x))


@torch.no_grad()
def feynman_kac(
    problem: ControlProblem,
    policy: Callable[[Tensor], Tensor],
    x0: np.ndarray,
    *,
    paths: int,
    horizon: float,
    dt: float,
    tail: Callable[[Tensor], Tensor] | None = None,
    gradient: Callable[[Tensor], Tensor] | None = None,
    noise_dim: int | None = None,
    seed: int = 0,
    richardson: bool = True,
) -> MonteCarloEstimate:
    """Monte Carlo estimate of V^α at x0 (n, d) from `paths` closed-loop Euler–Maruyama paths each.

    The policy and the tail value are evaluated at the state clipped into the box (the model is only
    trusted there). On a log-scale box the step is taken in log x, so states stay positive.
    `gradient`, an approximation of ∇V^α (n, d), or of (∇V^α, ∇²V^α) (n, d), (n, d, d), turns on the
    first- or second-order martingale control variate (unbiased whatever its accuracy); outside the box
    it continues V's Taylor polynomial about the clipped state (extended_derivatives).
    With richardson=True the step dt and dt/2 run on the same Brownian paths and 2·V_{dt/2} − V_dt
    removes the O(dt) weak error of Euler–Maruyama. Path j's noise comes from stream (seed, j // BLOCK): the
    same seed gives the same paths whatever `paths` is (common random numbers across calls).
    """
    x0 = np.asarray(x0, dtype=float)
    n, d = x0.shape
    k = noise_dim if noise_dim is not None else problem.check_shapes()
    steps = max(int(round(horizon / dt)), 1)
    blocks = [(torch.Generator().manual_seed(int(seed) * 1_000_003 + b), min(BLOCK, paths - b * BLOCK))
              for b in range(-(-paths // BLOCK))]
    # Rows are path-major (row j·n + i: path j from x0[i]), so that a block of paths is a slice of rows.
    start = torch.as_tensor(np.tile(x0, (paths, 1)), dtype=torch.float64)
    lo = torch.as_tensor(problem.domain.lo, dtype=torch.float64)
    hi = torch.as_tensor(problem.domain.hi, dtype=torch.float64)

    def clip(x):
        return torch.maximum(torch.minimum(x, hi), lo)

    fine_dt = dt / 2 if richardson else dt
    fine = _Path(problem, start, fine_dt, clip, policy, gradient)
    coarse = _Path(problem, start, dt, clip, policy, gradient) if richardson else None
    draws = 2 if richardson else 1
    for _ in range(steps):
        # A whole block is drawn even when fewer of its paths run, so that path j's noise never depends on `paths`.
        dW = torch.cat([torch.randn(draws, BLOCK * n, k, generator=gen, dtype=torch.float64)[:, :size * n]
                        for gen, size in blocks], dim=1) * np.sqrt(fine_dt)
        dW1 = dW[0]
        if richardson:
            dW2 = dW[1]
            fine.step(dW1)
            fine.step(dW2)
            coarse.step(dW1 + dW2)
        else:
            fine.step(dW1)
    samples = fine.value(tail)
    if richardson:
        # Same Brownian paths at dt and dt/2: 2·V_{dt/2} − V_dt cancels the O(dt) weak error.
        samples = 2.0 * samples - coarse.value(tail)
    samples = samples.reshape(paths, n).T.numpy()
    return MonteCarloEstimate(mean=samples.mean(axis=1), stderr=samples.std(axis=1, ddof=1) / np.sqrt(paths))
