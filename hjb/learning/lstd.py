"""Least-squares solutions of the martingale orthogonality conditions on fixed features (LSTD), and policy iteration
on them for the Gaussian q-function.

With J = uᵀφ_J(x) and, for the current policy π = N(m(x), γ/λ_π) truncated to the action box (γ = 0: a = m(x)),
q^π(x, a) = −½ Σ_i λ_i [(a_i − c_i)² − s2_i(x)] + Σ_i w_iᵀφ_β(x) [(a_i − c_i) − s1_i(x)] + γ E_π[log π](x)
(c = clip(m) to the box, s1, s2 the first two moments of a − c under π, so that E_π[q^π − γ log π] = 0, Jia & Zhou 2023, Thm 2), the window
TD rates are linear in θ = (u, λ, w): the orthogonality conditions E[φ_J(x_start)·e_window] = 0 (J) and
E[∂q/∂(λ, w)·e_step] = 0 (q) are one linear system. Its solution is policy evaluation from the transitions whatever
the behaviour policy was; the improvement π' ∝ exp(q^π/γ) is N(c + β/λ, γ/λ), β = wᵀφ_β (the argmax clip(c + β/λ) at
γ = 0): Newton's step of policy iteration on the features, exact for the LQ family (drift affine in a, reward
quadratic in a, diffusion free of a)."""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from hjb.learning.features import actor_features, set_policy_mean, set_value, value_features

Tensor = torch.Tensor
BASIS_TOL = 1e-7  # singular values below this fraction of the largest are dropped from a feature basis
JACKKNIFE_BLOCKS = 10  # blocks of rows left out in turn for J's standard error
ANNEAL = 4.0  # the factor by which policy iteration's discount rate falls per round, from 1/(window length) to ρ
SPREAD = 4.0  # an improved mean is clipped this many policy standard deviations outside the action box


@dataclass(frozen=True)
class Basis:
    """Whitened features φ(x) = [(h(x) − mean)·W, 1] (n, p): the directions of h over the data with singular value
    above BASIS_TOL of the largest (the learnt features are strongly collinear: lqr1d's 64 keep about 12)."""

    features: Callable[[Tensor], Tensor]
    mean: Tensor
    W: Tensor

    def __call__(self, x: Tensor) -> Tensor:
        return torch.cat([(self.features(x) - self.mean) @ self.W, torch.ones(len(x), 1, dtype=x.dtype)], dim=1)

    @property
    def size(self) -> int:
        return self.W.shape[1] + 1

    def raw_layer(self, coefficients: Tensor) -> tuple[Tensor, Tensor]:
        """(weights on h, bias) of the function φ·c (c (p, k)): φ·c = h·(W c_head) + (c_last − mean·W c_head)."""
        head = self.W @ coefficients[:-1]
        return head, coefficients[-1] - self.mean @ head


def basis(features: Callable[[Tensor], Tensor], x: Tensor) -> tuple[Basis, Tensor]:
    """The whitened, centred basis of h = features(x) (n, k) on the states x (φ has mean 0 and identity covariance
    there, but for the constant), and φ(x) (n, p)."""
    h = features(x)
    mean = h.mean(dim=0)
    u, s, vt = torch.linalg.svd(h - mean, full_matrices=False)
    keep = s > BASIS_TOL * s[0]
    whitened = Basis(features, mean, vt[keep].T / s[keep] * len(x) ** 0.5)
    return whitened, torch.cat([u[:, keep] * len(x) ** 0.5, torch.ones(len(x), 1, dtype=x.dtype)], dim=1)


def window_sums(values: Tensor, starts: Tensor, window: int, dt: Tensor, discount: float) -> tuple[Tensor, Tensor]:
    """(Σ_j e^{−ρt_j} v_j Δt_j / T (n, ...), T (n,)) over the windows starting at `starts` (n,) of chained rows,
    t_j the time from the window's start, T its length; v (N, ...) per row. O(N·window) in slices (no gathers and no
    (n, window, ...) array): every row's window is summed, then the starts are picked."""
    n = len(dt) - window + 1
    shape = (-1, *[1] * (values.dim() - 1))
    total = torch.zeros(n, dtype=dt.dtype)
    acc = torch.zeros((n, *values.shape[1:]), dtype=values.dtype)
    for j in range(window):
        step = dt[j:j + n]
        acc += (torch.exp(-discount * total) * step).reshape(shape) * values[j:j + n]
        total += step
    return acc[starts] / total[starts].reshape(shape), total[starts]


@dataclass(frozen=True)
class ValueRows:
    """What J = uᵀφ_J contributes to the rates, fixed while q changes: φ_J at the windows' starts and, discounted,
    at their ends (n, p), the windows' lengths T (n,), and the one-step (e^{−ρΔt}φ_J(x') − φ_J(x))/Δt (N, p)."""

    start: Tensor
    end: Tensor
    total: Tensor
    step: Tensor

    @property
    def window(self) -> Tensor:
        """(e^{−ρT}φ_J(x_end) − φ_J(x_start))/T (n, p)."""
        return self.end - self.start / self.total[:, None]


def value_rows(value_basis: Basis, phi: Tensor, data: tuple, starts: Tensor, window: int, discount: float,
               phi_next: Tensor | None = None) -> ValueRows:
    """ValueRows of the basis (φ = value_basis(x) given, φ(x') too if phi_next is) on the transitions (x, a, r, x', Δt)
    and the windows of `window` rows at `starts`."""
    dt = data[4]
    phi_next = value_basis(data[3]) if phi_next is None else phi_next
    elapsed = torch.cat([torch.zeros(1, dtype=dt.dtype), torch.cumsum(dt, dim=0)])
    total = elapsed[starts + window] - elapsed[starts]  # each window's length T
    end = torch.exp(-discount * total)[:, None] * phi_next[starts + window - 1] / total[:, None]
    return ValueRows(phi[starts], end, total, (torch.exp(-discount * dt)[:, None] * phi_next - phi) / dt[:, None])


def discounts(start: float, discount: float, rounds: int) -> list[float]:
    """The discount rates of `rounds` policy-iteration rounds: start, start/ANNEAL, … down to ρ, then ρ (annealing,
    Perdomo et al. 2021): a policy optimal at a larger rate keeps the state near the data at the next, smaller one."""
    rates = [max(start, discount)]
    while len(rates) < rounds:
        rates.append(max(rates[-1] / ANNEAL, discount))
    return rates


def policy_moments(mean: Tensor, curvature: Tensor, low: Tensor, high: Tensor, temperature: float
                   ) -> tuple[Tensor, Tensor, Tensor]:
    """(s1, s2 (n, m), γE_π[log π] (n,)) for π = Π_i N(mean_i, γ/λ_i) truncated to [low, high]: s1 = E[a − c],
    s2 = E[(a − c)²] about the centre c = clip(mean) (bounded however far the mean lies outside the box); all zero for
    the greedy policy (γ = 0, a = c)."""
    centre = torch.clamp(mean, low, high)
    if temperature == 0:
        zero = torch.zeros_like(mean)
        return zero, zero, torch.zeros(len(mean), dtype=mean.dtype)
    sd = torch.sqrt(temperature / curvature)
    alpha, beta = (low - mean) / sd, (high - mean) / sd
    log_mass = _log_mass(alpha, beta)
    ratio = lambda z: torch.exp(-0.5 * z**2 - 0.5 * math.log(2 * math.pi) - log_mass)  # noqa: E731  φ(z)/mass
    first = sd * (ratio(alpha) - ratio(beta))  # E[a − mean]
    second = sd**2 * (1 + alpha * ratio(alpha) - beta * ratio(beta))  # E[(a − mean)²]
    shift = mean - centre
    log_norm = torch.log(sd) + 0.5 * math.log(2 * math.pi) + log_mass
    return (first + shift, second + 2 * shift * first + shift**2,
            (-0.5 * curvature * second - temperature * log_norm).sum(dim=1))


def _log_mass(alpha: Tensor, beta: Tensor) -> Tensor:
    """log(Φ(β) − Φ(α)) for finite α < β, computed in the tail the interval lies in (a mean far outside the box
    leaves a mass far below the smallest double)."""
    upper = alpha > 0  # Φ(β) − Φ(α) = Φ(−α) − Φ(−β)
    lo, hi = torch.where(upper, -beta, alpha), torch.where(upper, -alpha, beta)
    log_hi = torch.special.log_ndtr(hi)
    return log_hi + torch.log1p(-torch.exp(torch.special.log_ndtr(lo) - log_hi))


def q_columns(deviation: Tensor, phi: Tensor, s1: Tensor, s2: Tensor) -> Tensor:
    """∂q^π/∂(λ, w) (N, m + m·p): −½[(a_i − m_i)² − s2_i] per i, then φ_β[(a_i − m_i) − s1_i] per i (deviation a − m
    (N, m), φ_β (N, p))."""
    linear = (phi[:, None, :] * (deviation - s1)[:, :, None]).flatten(1)
    return torch.cat([-0.5 * (deviation**2 - s2), linear], dim=1)


@torch.no_grad()
def evaluate(value: ValueRows, data: tuple, starts: Tensor, window: int, discount: float, columns: Tensor,
             offset: Tensor, groups: int = 0) -> Tensor | tuple[Tensor, Tensor]:
    """θ = (u, θ_q) solving E[φ_J(x_start) e_window] = 0 and E[columns·e_step] = 0, where J = uᵀφ_J and the rate is
    q = columns·θ_q + offset (N,); columns (N, k) may have k = 0 (q known: refit J alone). With groups = G > 1, also
    the G leave-one-block-out solutions (G, len θ) for a jackknife, the rows cut into G contiguous blocks."""
    r, dt = data[2], data[4]
    reward = r - offset
    sums = window_sums(torch.cat([reward[:, None], columns], dim=1), starts, window, dt, discount)[0]
    window_lhs, window_rhs = torch.cat([value.window, -sums[:, 1:]], dim=1), -sums[:, 0]
    step_lhs = torch.cat([value.step, -columns], dim=1)
    blocks = max(groups, 1)
    cut_windows = torch.searchsorted(starts, torch.arange(blocks + 1) * len(r) // blocks)
    cut_rows = torch.arange(blocks + 1) * len(r) // blocks
    lhs, rhs = [], []
    for g in range(blocks):
        w, n = slice(int(cut_windows[g]), int(cut_windows[g + 1])), slice(int(cut_rows[g]), int(cut_rows[g + 1]))
        lhs.append(torch.cat([value.start[w].T @ window_lhs[w] / len(starts), columns[n].T @ step_lhs[n] / len(r)]))
        rhs.append(torch.cat([value.start[w].T @ window_rhs[w] / len(starts), -columns[n].T @ reward[n] / len(r)]))
    lhs, rhs = torch.stack(lhs), torch.stack(rhs)
    solve = lambda A, b: torch.linalg.lstsq(A, b[:, None]).solution[:, 0]  # noqa: E731
    theta = solve(lhs.sum(0), rhs.sum(0))
    if groups <= 1:
        return theta
    return theta, torch.stack([solve(lhs.sum(0) - lhs[g], rhs.sum(0) - rhs[g]) for g in range(blocks)])


def jackknife_se(values: Tensor) -> Tensor:
    """The jackknife standard error (...,) of leave-one-out estimates values (G, ...): √((G−1)/G Σ (v_g − v̄)²)."""
    G = len(values)
    return torch.sqrt((G - 1) / G * ((values - values.mean(dim=0)) ** 2).sum(dim=0))


@torch.no_grad()
def q_fixed_point(J, head, data: tuple, starts: Tensor, window: int, discount: float, probe: Tensor,
                  iterations: int, tol: float) -> list[dict]:
    """Alternate evaluation (`evaluate`: J and q^π of the current policy on J's and the actor's learnt features) and
    improvement (π' ∝ exp(q^π/γ): mean m + β/λ fitted on the actor's features, λ_π' = λ) until, at the discount ρ,
    the policy's mean moves by at most tol (relative, on the probe states) or `iterations` pass. The first rounds
    anneal the discount from 1/T (T the window's length: the value then depends on the next window only, which the data
    hold) down to ρ (`discounts`): evaluated at ρ straight away, a policy that lets the state drift far (the double
    integrator's first, near-zero one) has a value the data do not determine. The result is written into J's last
    layer and the head (the actor's last layer and λ). Stops, keeping the last policy, if a curvature λ_i ≤ 0 (the data
    show no maximum in a). Returns one record per round: discount, policy_change and curvature."""
    x, a = data[0], data[1]
    value_basis, phi_value = basis(value_features(J), x)
    phi_next = value_basis(data[3])
    actor_basis, phi = basis(actor_features(head), x)
    phi_probe, value_probe = actor_basis(probe), value_basis(probe)
    # β ≈ ∂_a(r + L^a J) at the centre involves ∇J: the actor's features alone left the double integrator's
    # iteration unstable (λ < 0 by the third round); with J's features beside them it settled
    phi_beta = basis(lambda z: torch.cat([actor_features(head)(z), value_features(J)(z)], dim=1), x)[1]
    curvature, low, high, gamma = head.curvature().detach(), head.low, head.high, head.temperature
    # the first policy is the middle action, whose state moves as the uncontrolled one; the actor Adam left behind
    # may push the state away faster than 1/(2T) (the noise-free double integrator's did: λ < 0 at once)
    coefficients = torch.linalg.lstsq(phi, ((low + high) / 2).expand(len(x), -1)).solution  # (p, m)
    records, before, value, value_rate = [], phi_probe @ coefficients, None, None
    first_window = float(data[4][int(starts[0]):int(starts[0]) + window].sum())
    for rate in discounts(1.0 / first_window, discount, iterations):
        if rate != value_rate:  # the rows depend on the discount: rebuilt only when it changes
            value, value_rate = value_rows(value_basis, phi_value, data, starts, window, rate, phi_next), rate
        mean = phi @ coefficients
        centre = torch.clamp(mean, low, high)
        s1, s2, entropy = policy_moments(mean, curvature, low, high, gamma)
        theta, leave_out = evaluate(value, data, starts, window, rate, q_columns(a - centre, phi_beta, s1, s2),
                                    entropy, JACKKNIFE_BLOCKS)
        u, lam = theta[:value_basis.size], theta[value_basis.size:value_basis.size + len(curvature)]
        if not torch.all(lam > 0):
            records.append({"discount": rate, "policy_change": float("inf"), "curvature": lam.tolist()})
            break
        w = theta[value_basis.size + len(curvature):].reshape(len(curvature), -1).T  # (p, m)
        coefficients = torch.linalg.lstsq(phi, improved_mean(centre + (phi_beta @ w) / lam, lam, low, high,
                                                             gamma)).solution
        curvature = lam
        set_value(J, *value_basis.raw_layer(u[:, None]))
        after = phi_probe @ coefficients
        change = float(torch.linalg.norm(after - before) / max(float(torch.linalg.norm(after)), 1e-12))
        se = jackknife_se(leave_out[:, :value_basis.size] @ value_probe.T)  # (probe,)
        records.append({"discount": rate, "policy_change": change, "curvature": lam.tolist(),
                        "value_se": float(torch.sqrt(torch.mean(se**2))),
                        "value_rms": float(torch.sqrt(torch.mean((value_probe @ u) ** 2)))})
        before = after
        if change <= tol and rate == discount:
            break
    set_policy_mean(head, *actor_basis.raw_layer(coefficients))
    head.set_curvature(curvature)
    return records


def improved_mean(target: Tensor, curvature: Tensor, low: Tensor, high: Tensor, temperature: float) -> Tensor:
    """The improved mean c + β/λ (n, m) clipped to SPREAD standard deviations √(γ/λ) outside [low, high] (to the box
    at γ = 0), what the actor's features are fitted to: the policy hardly changes beyond, and unclipped, the states
    where the bound binds (|c + β/λ| up to 7 times the bound on the double integrator) dominate the fit."""
    spread = SPREAD * torch.sqrt(temperature / curvature)
    return torch.minimum(torch.maximum(target, low - spread), high + spread)
