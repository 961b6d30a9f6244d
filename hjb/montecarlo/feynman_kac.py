"""Feynman–Kac Monte Carlo: V^α(x) = E_x[∫_0^{T∧τ} e^{−ρs} r(X_s, α(X_s)) ds + e^{−ρτ} g(X_τ) 1{τ ≤ T} + e^{−ρT} V(X_T)
1{τ > T}] by Euler–Maruyama, τ the exit time from the box where the problem exits there (else τ = ∞)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from hjb.montecarlo.boundary import Faces, box_variance
from hjb.montecarlo.sde import em_step, noise_increment, richardson_estimate, richardson_pair
from hjb.pdes.problem import ControlProblem

Tensor = torch.Tensor
BLOCK = 64  # paths per noise stream: path j's Brownian increments depend on (seed, j) alone, not on `paths`


@dataclass(frozen=True)
class MonteCarloEstimate:
    """Estimates of V^α at the start points (n,) with their Monte Carlo standard errors (n,)."""

    mean: np.ndarray
    stderr: np.ndarray


POWER_LAW_EXPONENT = 4.0  # |λ| cap of the power-law continuation on log boxes (V_u ∝ x^λ; CRRA: λ = 1 − γ)


def _at_clipped_state(x: Tensor, c: Tensor, log: bool, dV: Tensor, d2V: Tensor | None):
    """Δu = u(x) − u(c) (n, d), V_u(c) (n, d), V_uu(c) (n, d, d) or None, and the power-law exponents λ (n, d)
    (zero on linear boxes), in the box's coordinates; from ∇V(c), ∇²V(c) in x (chain rule on log boxes)."""
    if not log:
        return x - c, dV, d2V, torch.zeros_like(dV)
    du, Vu = torch.log(x) - torch.log(c), c * dV
    if d2V is None:
        return du, Vu, None, torch.zeros_like(Vu)
    Vuu = c.unsqueeze(-1) * c.unsqueeze(-2) * d2V + torch.diag_embed(Vu)
    curvature = torch.diagonal(Vuu, dim1=-2, dim2=-1)
    safe = torch.where(Vu == 0, torch.ones_like(Vu), Vu)
    exponent = torch.where(Vu == 0, torch.zeros_like(Vu), curvature / safe)
    return du, Vu, Vuu, exponent.clamp(-POWER_LAW_EXPONENT, POWER_LAW_EXPONENT)


def box_derivatives(
    x: Tensor, c: Tensor, log: bool, dV: Tensor, d2V: Tensor | None
) -> tuple[Tensor, Tensor | None]:
    """V_u (n, d) and V_uu (n, d, d) at x of V continued from the clipped state c (n, d), in the box's coordinates u;
    from ∇V(c) (n, d), ∇²V(c) (n, d, d) in x.

    Linear boxes (u = x): V's second-order Taylor polynomial about c. Log boxes (u = log x): a power law per
    coordinate, V_u,i(x) = V_u,i(c)·e^{λ_i Δu_i} with λ_i = V_uu,ii/V_u,i at c (|λ| ≤ POWER_LAW_EXPONENT) and
    V_uu,ij(c)·e^{(λ_iΔu_i + λ_jΔu_j)/2}: exact for V = a + b·x^p (homothetic problems, where log boxes belong);
    the second-order Taylor polynomial in u left most of the noise of paths far outside the box.
    Inside the box (x = c) these are V's own derivatives. With d2V None V_u (or ∇V) is held constant."""
    du, g, H, exponent = _at_clipped_state(x, c, log, dV, d2V)
    if H is None:
        return g, None
    if not log:
        return g + (H @ du.unsqueeze(-1)).squeeze(-1), H
    growth = exponent * du
    return g * torch.exp(growth), H * torch.exp(0.5 * (growth.unsqueeze(-1) + growth.unsqueeze(-2)))


def continuation(x: Tensor, c: Tensor, log: bool, dV: Tensor, d2V: Tensor | None) -> Tensor:
    """V(x) − V(c) (n,) of the continuation of box_derivatives: Taylor on linear boxes, on log boxes
    Σ_i V_u,i (e^{λ_iΔu_i} − 1)/λ_i plus the Taylor cross terms ½Σ_{i≠j} V_uu,ij Δu_i Δu_j."""
    du, g, H, exponent = _at_clipped_state(x, c, log, dV, d2V)
    if H is None:
        return (g * du).sum(-1)
    if not log:
        return (g * du).sum(-1) + 0.5 * torch.einsum("ni,nij,nj->n", du, H, du)
    growth = exponent * du
    small = exponent.abs() < 1e-8
    ratio = torch.where(small, du, torch.expm1(growth) / torch.where(small, torch.ones_like(exponent), exponent))
    cross = H - torch.diag_embed(torch.diagonal(H, dim1=-2, dim2=-1))
    return (g * ratio).sum(-1) + 0.5 * torch.einsum("ni,nij,nj->n", du, cross, du)


def control_variate(g: Tensor, H: Tensor | None, xi: Tensor, sigma_u: Tensor, dt: float) -> Tensor:
    """g·ξ + ½(ξᵀHξ − Tr(H Σ_u Σ_uᵀ) dt) (n,): mean zero for ξ = Σ_u ΔW (n, d), with Σ_u (n, d, k)."""
    cv = (g * xi).sum(-1)
    if H is None:
        return cv
    quadratic = torch.einsum("ni,nij,nj->n", xi, H, xi)
    trace = (H * (sigma_u @ sigma_u.transpose(-1, -2))).sum(dim=(-2, -1)) * dt
    return cv + 0.5 * (quadratic - trace)


class _Path:
    """Euler–Maruyama state, running discounted reward and surviving mass (1 until the path exits the box, where
    exit stops it) of one set of paths with step dt."""

    def __init__(self, problem, x0, dt, faces: Faces, policy, gradient):
        self.problem, self.x, self.dt, self.faces, self.policy = problem, x0.clone(), dt, faces, policy
        self.clip, self.gradient = faces.clip, gradient
        self.log = problem.domain.scale == "log"
        self.t, self.total = 0.0, torch.zeros(x0.shape[0], dtype=x0.dtype)
        self.alive = torch.ones(x0.shape[0], dtype=x0.dtype)

    def _derivatives(self, c: Tensor) -> tuple[Tensor, Tensor | None]:
        """(∇V, ∇²V or None) at the clipped states c (n, d) from `gradient`."""
        derivatives = self.gradient(c)
        return derivatives if isinstance(derivatives, tuple) else (derivatives, None)

    def step(self, dW: Tensor) -> None:
        """One Euler step with the increments dW (n, k) of every path that still carries mass (where paths exit, the
        stopped ones are left out: exit_time's paths are nearly all stopped long before the horizon)."""
        if self.faces.behaviour != "exit":
            self._step(slice(None), dW)
        else:
            rows = torch.nonzero(self.alive > 0).squeeze(-1)
            if len(rows):
                self._step(rows, dW[rows])
        self.t += self.dt

    @property
    def stopped(self) -> bool:
        """Whether every path has stopped (then no later step changes the estimate)."""
        return self.faces.behaviour == "exit" and not bool((self.alive > 0).any())

    def _step(self, rows, dW: Tensor) -> None:
        p, x, alive = self.problem, self.x[rows], self.alive[rows]
        c = self.clip(x)
        a = self.policy(c)
        discount = np.exp(-p.discount * self.t)
        earned = discount * p.reward(x, a)[:, 0] * self.dt
        total = alive * earned
        sigma = p.diffusion(x, a)
        noise = noise_increment(sigma, dW)
        if self.gradient is not None:
            # Control variate: e^{−ρt_j}[V_u·ξ + ½ξᵀV_uu ξ − ½Tr(Σ_uΣ_uᵀV_uu)dt], ξ = Σ_uΔW, has mean exactly zero
            # and is V's Itô increment up to drift terms: subtracting it cancels the noise of V along the path.
            # Outside the box V_u, V_uu continue V from the clipped state (box_derivatives): frozen there,
            # ∇V·Σ(x)ΔW would grow with x where Σ does (Merton: Σ ∝ x) into heavy-tailed noise.
            g, H = box_derivatives(x, c, self.log, *self._derivatives(c))
            # The control variate is taken in the coordinates the step is taken in: on log boxes the step of
            # log x is Σ/x ΔW, so V's quadratic Itô term matches it (in x, ½V′(ξ² − E ξ²)/x was left as
            # O(dt) noise per step: merton_gamma05's anchors had se ∝ √dt even with the exact V).
            xi, sigma_u = (noise / x, sigma / x.unsqueeze(-1)) if self.log else (noise, sigma)
            cv = control_variate(g, H, xi, sigma_u, self.dt)
            if self.faces.behaviour == "exit":
                # Only on the mass that is likely to survive the step (a weight known at its start, so the term's
                # mean stays zero): the stopped mass collects g, not V(X_{t+dt}), and V's increment subtracted from
                # it was pure noise (exit_time: anchors on the faces, where V = g exactly, had se 2.4e-3 at 2048 paths).
                cv = self.faces.stay(x, box_variance(x, sigma, self.log), self.dt) * cv
            total = total - discount * alive * cv
        # Log boxes hold positive states: the step is taken in log x (em_step given the variance diag(ΣΣᵀ)).
        variance = (sigma * sigma).sum(-1) if self.log else None
        moved = em_step(x, p.drift(x, a), noise, self.dt, variance)
        if self.faces.behaviour == "reflect":
            moved = self.faces.reflect(moved)
        elif self.faces.behaviour == "exit":
            stopped, credit = self._exit(x, moved, box_variance(x, sigma, self.log), alive, earned)
            total, moved = total + credit, self.clip(moved)  # a stopped path's state no longer counts
            self.alive[rows] = alive - stopped
        self.total[rows] += total
        self.x[rows] = moved

    def _exit(self, x: Tensor, moved: Tensor, variance: Tensor, alive: Tensor, earned: Tensor
              ) -> tuple[Tensor, Tensor]:
        """(stopped mass, its credit) (n,) of the paths that left the box during the step
        (hjb.montecarlo.boundary.Faces.exit), stopped at the step's midpoint: they keep half the step's reward
        `earned` and collect e^{−ρ(t + dt/2)}·g(exit point). Stopped at the step's end, the exit time was overstated
        by dt/2 on average: exit_time's V 0.025 (3.5%) high at dt = 0.05 without Richardson."""
        p, z = self.faces.exit(x, moved, variance, self.dt)
        stopped = alive * p
        credit = -0.5 * stopped * earned
        hit = stopped > 0
        if hit.any():
            reward = self.problem.boundary_reward(z[hit])[:, 0].to(credit.dtype)
            credit[hit] += np.exp(-self.problem.discount * (self.t + 0.5 * self.dt)) * stopped[hit] * reward
        return stopped, credit

    def value(self, tail) -> Tensor:
        """The path's estimate: discounted rewards (minus the control variate, plus boundary rewards on exit) plus
        e^{−ρT}·V(X_T) on the surviving mass, with V(X_T) the tail at the clipped state, continued outside the box
        as the control variate is (continuation)."""
        if tail is None:
            return self.total
        c = self.clip(self.x)
        end = tail(c)
        if self.gradient is not None:
            end = end + continuation(self.x, c, self.log, *self._derivatives(c))
        return self.total + np.exp(-self.problem.discount * self.t) * self.alive * end


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
    trusted there). On a log-scale box the step is taken in log x, so states stay positive. At the box's faces
    the paths follow problem.boundary (hjb.montecarlo.boundary): "none" lets them leave, "exit" stops them at the
    first exit with e^{−ρτ}·boundary_reward(X_τ), "reflect" mirrors them back.
    `gradient`, an approximation of ∇V^α (n, d), or of (∇V^α, ∇²V^α) (n, d), (n, d, d), turns on the
    first- or second-order martingale control variate (unbiased whatever its accuracy); outside the box
    it continues V from the clipped state (box_derivatives), and so does the tail (continuation).
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
    faces = Faces(problem.domain, problem.boundary)
    fine_dt = dt / 2 if richardson else dt
    fine = _Path(problem, start, fine_dt, faces, policy, gradient)
    coarse = _Path(problem, start, dt, faces, policy, gradient) if richardson else None
    draws = 2 if richardson else 1
    for _ in range(steps):
        # A whole block is drawn even when fewer of its paths run, so that path j's noise never depends on `paths`.
        dW = torch.cat([torch.randn(draws, BLOCK * n, k, generator=gen, dtype=torch.float64)[:, :size * n]
                        for gen, size in blocks], dim=1) * np.sqrt(fine_dt)
        if richardson:
            richardson_pair(fine, coarse, dW[0], dW[1])
        else:
            fine.step(dW[0])
        if fine.stopped and (coarse is None or coarse.stopped):
            break
    samples = fine.value(tail)
    if richardson:
        samples = richardson_estimate(samples, coarse.value(tail))
    samples = samples.reshape(paths, n).T.numpy()
    return MonteCarloEstimate(mean=samples.mean(axis=1), stderr=samples.std(axis=1, ddof=1) / np.sqrt(paths))
