"""Feynman–Kac anchors with automatic horizon, step and path count, and the test that calls for an anchored phase.

Nothing here is tuned per problem; every choice follows from ρ, the closed-loop drift and the Monte Carlo
standard error (documented in SolverSettings):
- horizon T = anchor_tail · min(1/ρ, 1/κ), κ the contraction rate of the closed-loop drift in the box's
  coordinates (log x on log boxes; no contraction: T = anchor_tail/ρ): either the bootstrapped tail
  e^{−ρT}·V(X_T) weighs only e^{−anchor_tail} of V, or the closed loop has contracted for anchor_tail of its
  time constants, so that X_T has forgotten its start and the tail's error is a constant: the anchors are
  compared and imposed with their level removed (V's level: see "level" below).
  Either way the anchors see what the evaluation PDE leaves free (Merton's x^λ± modes are martingales of a
  closed loop that does not contract in log x: only the discount hides them);
- step dt = min(T/anchor_steps, COURANT/Lip(closed-loop drift)), at most anchor_max_steps steps; where paths stop
  at the faces (boundary "exit") σ√dt ≤ EXIT_RESOLUTION × the box's half-width, whatever the steps;
- every anchor is measured on V's size: its spread over the box, or with a power-law profile m (log boxes,
  hjb.solvers.scales) its local size scale·m(x). Scales of their own, max(|Â_i|, 10⁻³·spread), were tried for a
  V spanning orders of magnitude (Merton with γ = 3, x⁻² over [0.2, 12.5]) while the PDE fit still weighed every
  point on the global spread: they made that case no better (value error 2.9e-2 → 7.0e-2) and the seed cases
  worse (lqr1d_bounded 4.7e-4 → 2.4e-3);
- paths: anchor_paths, then more (up to anchor_max_paths, re-sized up to RESIZES times from the last batch's se)
  for each anchor whose se exceeds precision × √n × V's scale, so that the standard error of the anchors' mean
  is at most precision × V's scale (the anchors pin a few modes and a level together) and no anchor is left
  noisier than that: with one path count for all, sized on their rms se, merton_gamma05's anchor at wealth 12.5
  (se 13 times that at 0.2, where the x^λ₊ mode is largest) stayed too noisy to see a mode error of 1.6e-2 of
  V's spread that left π 1.2e-2 off;
  precision = max(anchor_stderr, LOOSE_FRACTION × the relative change of V in the last PI iteration)
  (anchor_precision): while policy iteration still moves V by ΔV, resolving V^α_k more finely than ΔV/10 buys
  nothing (a mode error e in V_k moves the greedy α_{k+1} by O(e) and V^{α_{k+1}} by O(e²)), and the runs
  spent much of their time there (the seed Merton: 1896 paths in PI 2, 80 s of its 160); a run is converged
  only with anchors at anchor_stderr;
- disagreement: χ² = mean((V_θ − Â − level)²/se²) with the best constant level removed (the level is set
  in closed form anyway) and se at least anchor_stderr × V's scale (the anchors are not meant to resolve V
  more finely, and their discretisation bias is not in se); above anchor_chi2 the anchors are imposed in
  an anchored training phase, and a run whose final χ² stays above it has not converged;
- level: the PDE sets V's level (hjb.solvers.evaluation.solve_level), unless, once V has settled (anchors at
  anchor_stderr), the anchors' mean misfit is more than LEVEL_Z of its standard errors from 0 (level_shift).
  Applied while V still moved, it shifted a bounded LQR at z = −21 … −7.5 in four iterations, each next fit
  pulled the level back (the stiffest direction), and the run ended not_converged. In 1-D the PDE's level is
  the more accurate one (the anchors' tail weighs e^{−ρT} ≈ 0.85 of V's level error in lqr1d, so they see
  only 15% of it); in 5-D, 256 collocation points leave it 3.5% of V below V* in lqr5d (mean residual ≈ 0
  over the box, the error sits in the curvature between the points), which the anchors saw at 99 standard
  errors.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from hjb.montecarlo.boundary import box_variance
from hjb.montecarlo.feynman_kac import MonteCarloEstimate, feynman_kac
from hjb.nn.value_network import ValueNetwork
from hjb.pdes.generator import needs_hessian
from hjb.pdes.problem import ControlProblem
from hjb.settings import SolverSettings

COURANT = 0.05  # Euler–Maruyama step ≤ COURANT / (Lipschitz constant of the closed-loop drift)
RESIZES = 3  # at most this many re-sizings of the path count from the last batch's standard error
RESIZE_MARGIN = 1.2  # paths for (se/target)² × this, so that the next batch lands below the target
LOOSE_FRACTION = 0.1  # anchors resolve V to this fraction of its last change (anchor_precision)
LEVEL_Z = 3.0  # the anchors move V's level only when their mean misfit is this many standard errors from 0
# Paths that stop at the box's faces (boundary "exit"): each step's diffusion length σ√dt at most this fraction of
# the box's half-width, whatever anchor_max_steps (the paths stop: exit_time's take ~1/EXIT_RESOLUTION² steps on
# average, whatever σ and L). A path stopped between two steps has crossed ~σ√dt beyond where it was last seen, so
# every exit adds noise ~|∇V|·σ√dt that the control variate does not remove (exit_time, σ = 1 on [−1, 1]: a path's
# sd 0.12 at dt = 0.05 and 0.035–0.05 at dt = 0.005, with the exact V as control variate; at 0.005 (2000 steps) its
# anchors at 2048 paths missed their target, se 7.4e-4–1.1e-3 against 7.2e-4; 0.04 gives dt = 0.0016).
EXIT_RESOLUTION = 0.04


@dataclass(frozen=True)
class Anchors:
    """Monte Carlo anchor values at x (n, d): estimate (mean, stderr), horizon, step and the most paths of any
    point; capped when a standard error missed its target within anchor_max_paths paths (V's free modes are then
    pinned only as precisely as the capped anchors allow, and the run cannot say converged)."""

    x: np.ndarray
    estimate: MonteCarloEstimate
    horizon: float
    dt: float
    paths: int
    capped: bool = False


def drift_lipschitz(problem: ControlProblem, policy, x: np.ndarray) -> float:
    """max ‖F(x_i) − F(x_j)‖ / ‖x_i − x_j‖ over pairs of x (n, d), F(x) = f(x, α(x)) the closed-loop drift."""
    xt = torch.as_tensor(x, dtype=torch.float64)
    with torch.no_grad():
        F = problem.drift(xt, policy(xt))
    dx = torch.cdist(xt, xt)
    dF = torch.cdist(F, F)
    mask = dx > 1e-9
    return float((dF[mask] / dx[mask]).max()) if mask.any() else 0.0


def contraction_rate(problem: ControlProblem, policy, x: np.ndarray) -> float:
    """κ = −max (G_i − G_j)·(u_i − u_j)/|u_i − u_j|² over pairs of x (n, d), G the closed-loop drift of u, the box's
    coordinates (u = x; on log boxes u = log x, G = f/x − ½ diag(ΣΣᵀ)/x², Itô): > 0 when the flow contracts."""
    xt = torch.as_tensor(x, dtype=torch.float64)
    with torch.no_grad():
        a = policy(xt)
        G, u = problem.drift(xt, a), xt
        if problem.domain.scale == "log":
            sigma = problem.diffusion(xt, a)
            G, u = G / xt - 0.5 * (sigma * sigma).sum(-1) / xt**2, torch.log(xt)
    du = u.unsqueeze(0) - u.unsqueeze(1)
    dG = G.unsqueeze(0) - G.unsqueeze(1)
    norm2 = (du * du).sum(-1)
    mask = norm2 > 1e-18
    return -float(((dG * du).sum(-1)[mask] / norm2[mask]).max()) if mask.any() else 0.0


def exit_step(problem: ControlProblem, policy, probe: np.ndarray) -> float:
    """The largest dt with σ_i√dt ≤ EXIT_RESOLUTION × the box's half-width on every axis i, σ_i² the largest variance
    rate of the box's coordinates (x, or log x) over the probe points (n, d) under α."""
    xt = torch.as_tensor(probe, dtype=torch.float64)
    box = problem.domain
    with torch.no_grad():
        variance = box_variance(xt, problem.diffusion(xt, policy(xt)), box.scale == "log").max(dim=0).values.numpy()
    lo, hi = (np.log(b) if box.scale == "log" else b for b in (box.lo, box.hi))
    ratio = (EXIT_RESOLUTION * (hi - lo) / 2.0) ** 2 / np.maximum(variance, 1e-300)
    return float(np.min(ratio))


def horizon_and_step(problem: ControlProblem, policy, probe: np.ndarray, s: SolverSettings) -> tuple[float, float]:
    """T = anchor_horizon if set, else anchor_tail·min(1/ρ, 1/κ) (κ = contraction_rate on the probe points (n, d),
    T = anchor_tail/ρ when κ ≤ 0); dt = min(T/anchor_steps, COURANT/Lip(f(·, α(·))), anchor_dt), raised to
    T/anchor_max_steps (a wild early policy must not stall the rollouts); where paths exit, at most exit_step."""
    lipschitz = max(drift_lipschitz(problem, policy, probe), 1e-12)
    horizon = s.anchor_horizon
    if horizon is None:
        kappa = contraction_rate(problem, policy, probe)
        horizon = s.anchor_tail / max(problem.discount, kappa)
    dt, floor = min(horizon / s.anchor_steps, COURANT / lipschitz), horizon / s.anchor_max_steps
    if problem.boundary == "exit":  # a stopped path leaves the loop, so the cost is set by the time to exit
        dt = floor = min(dt, exit_step(problem, policy, probe))
    if s.anchor_dt is not None:
        dt = min(dt, s.anchor_dt)
    return horizon, max(dt, floor)


def estimate_anchors(
    problem: ControlProblem, policy, critic: ValueNetwork, x: np.ndarray, probe: np.ndarray, s: SolverSettings,
    noise_dim: int, seed: int, precision: float | None = None,
) -> Anchors:
    """Feynman–Kac values of V^α at x (n, d), with the critic as tail and control variate, until each anchor's se
    is at most `precision` (by default anchor_stderr) × √n × V's scale, so that the se of their mean is at most
    precision × scale; anchors short of it are re-estimated with more paths. Every call with one seed draws the
    same Brownian paths (common random numbers): from one PI iteration to the next the anchors then change with
    the policy and the critic, not with fresh noise."""
    horizon, dt = horizon_and_step(problem, policy, probe, s)
    # The derivatives along the paths (greedy policy, control variate) dominate the cost: float32 halves it.
    rollout_policy, twin = policy.single_precision(), critic.single_precision()
    # Above 3-D the control variate is first order (∇V·ΣΔW): its Itô term would need ∇²V at every step.
    gradient = twin.value_derivatives if needs_hessian(problem.state_dim) else twin.gradient

    def batch(points: np.ndarray, paths: int) -> MonteCarloEstimate:
        return feynman_kac(problem, rollout_policy, points, paths=paths, horizon=horizon, dt=dt, tail=critic.value,
                           gradient=gradient, noise_dim=noise_dim, seed=seed)

    first = batch(x, s.anchor_paths)
    mean, stderr = first.mean.copy(), first.stderr.copy()
    paths = np.full(len(x), s.anchor_paths)
    precision = s.anchor_stderr if precision is None else precision
    # each anchor's se: √n × that of the anchors' mean, in units of V's (local) size
    target = precision * size_at(critic, x) * math.sqrt(len(x))
    for _ in range(RESIZES):  # the se of few paths is itself noisy (heavy tails): size again from the larger sample
        short = ~(stderr <= target) & (paths < s.anchor_max_paths)
        if not np.all(np.isfinite(stderr)) or not short.any():
            break
        # Only the anchors short of the target, all with the path count the noisiest of them needs.
        more = min(int(math.ceil(np.max(paths[short] * RESIZE_MARGIN * (stderr[short] / target[short]) ** 2))),
                   s.anchor_max_paths)
        again = batch(x[short], more)
        mean[short], stderr[short], paths[short] = again.mean, again.stderr, more
    capped = not np.all(stderr <= target)
    return Anchors(x=x, estimate=MonteCarloEstimate(mean, stderr), horizon=horizon, dt=dt, paths=int(paths.max()),
                   capped=capped)


def anchor_precision(value_change: float, s: SolverSettings) -> float:
    """The se target of the anchors' mean relative to V's scale: max(anchor_stderr, LOOSE_FRACTION·ΔV), ΔV the
    relative change of V in the last PI iteration (inf before there is one: the first anchors get anchor_paths)."""
    return max(s.anchor_stderr, LOOSE_FRACTION * value_change)


def joint_stderr(estimate: MonteCarloEstimate) -> float:
    """rms(se) over the anchors: √n × the standard error of their mean (n independent estimates). The mean se
    would let a few noisy anchors hide among precise ones, and those (Merton's largest wealths, where the x^λ₊
    mode is largest) are the ones that pin V's free modes."""
    return float(np.sqrt(np.mean(estimate.stderr**2)))


def size_at(critic: ValueNetwork, x: np.ndarray) -> np.ndarray:
    """V's local size scale·m(x) (n,) at x (n, d) (its scale where there is no profile)."""
    return critic.magnitude(torch.as_tensor(x)).numpy()


def _floored_stderr(critic: ValueNetwork, anchors: Anchors, floor: float) -> np.ndarray:
    """The anchors' standard errors (n,), at least floor × V's (local) size."""
    return np.maximum(anchors.estimate.stderr, floor * size_at(critic, anchors.x))


def _misfit(critic: ValueNetwork, anchors: Anchors, floor: float) -> tuple[np.ndarray, np.ndarray, float]:
    """(m, se, m̄): misfit m = V_θ − Â at the anchors (n,), se ≥ floor × V's scale, and the se-weighted mean m̄."""
    value = critic.value(torch.as_tensor(anchors.x, dtype=torch.float64)).numpy()
    se = _floored_stderr(critic, anchors, floor)
    misfit = value - anchors.estimate.mean
    weights = 1.0 / se**2
    return misfit, se, float(np.sum(weights * misfit) / np.sum(weights))


def disagreement(critic: ValueNetwork, anchors: Anchors, floor: float, free_level: bool = True) -> float:
    """χ² per anchor of V_θ against the anchors, the best constant level removed (unless not free_level: where the
    process exits, V = g on the faces fixes the level): mean((m − m̄_w)²/se²), with se ≥ floor × V's scale."""
    misfit, se, level = _misfit(critic, anchors, floor)
    return float(np.mean(((misfit - (level if free_level else 0.0)) / se) ** 2))


def anchor_weights(critic: ValueNetwork, anchors: Anchors, floor: float) -> np.ndarray:
    """w_i ∝ 1/se_i² (n,), se ≥ floor × V's scale, with mean 1: the anchored phase's least squares then weighs each
    anchor by its precision (the χ² test's weighting), not a noisy anchor (far from the start's probable paths:
    Merton's wealth at 12.5, se 13 times that at 0.2) as much as a precise one. With a profile m, the relative
    precision (size_i/se_i)², mean 1, ÷ m_i²: each misfit then counts relative to V's local size."""
    se = _floored_stderr(critic, anchors, floor)
    if critic.profiled:
        # Each misfit in units of V's local size scale·m_i (the fit divides by scale² only): w_i = p̂_i / m_i², with
        # p̂_i ∝ (size_i/se_i)² the anchor's relative precision, mean 1.
        size = size_at(critic, anchors.x)
        precision = (size / se) ** 2
        return precision / precision.mean() / (size / critic.scale) ** 2
    inverse = 1.0 / se**2
    return inverse / inverse.mean()


def level_free_targets(critic: ValueNetwork, anchors: Anchors, floor: float, free_level: bool = True) -> np.ndarray:
    """Â + m̄_w (n,): the anchors moved to V_θ's level, so that imposing them changes V's shape and not its level
    (the level is set after the fit: hjb.solvers.evaluation.solve_level, level_shift); Â itself where the level
    is not free (V = g on the faces where the process exits)."""
    return anchors.estimate.mean + (_misfit(critic, anchors, floor)[2] if free_level else 0.0)


def mean_misfit(critic: ValueNetwork, anchors: Anchors, floor: float) -> tuple[float, float]:
    """(m̄, se(m̄)): the se-weighted mean of V_θ − Â over the anchors (se ≥ floor × V's scale) and its standard
    error 1/√Σ se⁻²."""
    _, se, level = _misfit(critic, anchors, floor)
    return level, float(1.0 / np.sqrt(np.sum(1.0 / se**2)))


def level_shift(before: tuple[float, float], after: float, anchors: Anchors, discount: float, precision: float,
                s: SolverSettings) -> float:
    """The shift of V's level the anchors call for, or 0 when V has not settled (the anchors' `precision` is looser
    than anchor_stderr: V's shape errors then leak into m̄, and 1/(1 − q) below would amplify them) or their mean
    misfit m̄ = `before` (m̄, se), measured with the critic their tail was bootstrapped from, is within LEVEL_Z
    standard errors of 0. That tail carries q = e^{−ρT} of V_θ's level error c, so m̄ ≈ (1 − q)c; V has since
    moved by `after` − m̄ (the anchored phase, solve_level): shift = −(m̄/(1 − q) + after − m̄)."""
    mean, stderr = before
    if precision > s.anchor_stderr or not abs(mean) > LEVEL_Z * stderr:
        return 0.0
    return -(mean / (1.0 - math.exp(-discount * anchors.horizon)) + after - mean)
