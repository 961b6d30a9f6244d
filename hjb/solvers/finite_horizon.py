"""Finite-horizon policy iteration: ρV − ∂_t V = max_a {r + L^a V}, V(·, T) = g, on box × [0, T] by PINN; and the
time-periodic discounted problem (hjb.pdes.periodic), the same equation with V(·, 0) = V(·, τ) instead of g.

V = b(x, t) + (T − t)·c·N_θ(x, t) carries the terminal condition exactly (ValueNetwork), over the problem's
base b (b(·, T) = g; b = g unless the problem declares one); a periodic problem's V = (c/ρ)·N_θ(x, cos ωt, sin ωt)
is periodic by construction. Evaluation of a
policy α_k trains N_θ (warm-started) on the linear residual ∂_t V − ρV + r(x, α_k, t) + L^{α_k} V with DeepXDE;
improvement is the problem's closed-form greedy action from a frozen copy of V_k. As for the Fokker–Planck
solver, the truncated box gets no boundary condition (none is exact there).
"""
from __future__ import annotations

import copy
import math

import numpy as np
import torch

from hjb.errors import ProblemError
from hjb.montecarlo.rollouts import ROLLOUT_STEPS, rollout_paths, visited_space_time
from hjb.nn.pinn_fit import train_pinn
from hjb.nn.value_network import FixedTime, PeriodicTime, ValueNetwork
from hjb.pdes.finite_horizon import (
    FiniteHorizonProblem,
    finite_horizon_hamiltonian,
    finite_horizon_residual,
)
from hjb.pdes.generator import estimates_curvature, needs_hessian, space_time_derivatives
from hjb.pdes.periodic import PeriodicProblem
from hjb.pdes.residual_pde import ResidualPDE
from hjb.progress import Progress
from hjb.settings import FiniteHorizonSettings, default_settings
from hjb.solvers.evaluation import FrozenActions
from hjb.solvers.iteration import policy_iteration, seed_everything
from hjb.solvers.periodic_level import occupation_level
from hjb.solvers.scales import spread, value_size
from hjb.solvers.solution import Solution

Tensor = torch.Tensor


class TimedPolicy:
    """α(x, t) (n, m) for space-time points xt (n, d + 1): the problem's initial policy, or greedy from a frozen V."""

    def __init__(self, problem: FiniteHorizonProblem, net: ValueNetwork | None = None):
        self.problem = problem
        self.net = None if net is None else copy.deepcopy(net)
        self.kind = "initial" if net is None else "greedy"

    def __call__(self, xt: Tensor) -> Tensor:
        d = self.problem.state_dim
        x, t = xt[:, :d].detach(), xt[:, d:].detach()
        if self.net is None:
            with torch.no_grad():
                return self.problem.initial_policy(x, t)
        hessian = needs_hessian(d, self.problem.greedy_uses_hessian)
        with torch.enable_grad():
            xg = xt.detach().clone().requires_grad_(True)
            _, dV, d2V = space_time_derivatives(self.net(xg), xg, create_graph=False, hessian=hessian)
        with torch.no_grad():
            return self.problem.greedy_action(x, t, dV.detach(), None if d2V is None else d2V.detach())


def evaluation_pde(problem: FiniteHorizonProblem, policy) -> ResidualPDE:
    """The residual PDE (xt, V) ↦ ∂_t V − ρV + r(x, α(x, t), t) + L^α V on the problem's space-time domain for the
    fixed policy α, or the HJB residual ∂_t V − ρV + max_a {r + L^a V} (greedy action of the live network) when policy
    is None; the terminal (or periodic) condition is built into the network (value_network)."""
    actions, d = (None if policy is None else FrozenActions(policy)), problem.state_dim
    # Above 3-D the curvature is taken along Σ's columns, unless the live greedy action reads ∇²V; with many columns
    # it is estimated twice per point (paired residuals (n, 2), trained on mean(R₁R₂)).
    hessian = needs_hessian(d, policy is None and problem.greedy_uses_hessian)
    paired = not hessian and estimates_curvature(d, problem.check_shapes())

    def residual(xt, V, _derivatives):
        dVdt, dV, d2V = space_time_derivatives(V, xt, hessian=hessian)
        a = None if actions is None else actions(xt)
        return finite_horizon_residual(problem, xt[:, :d], xt[:, d:], dVdt, dV, d2V, a, graph_to=xt,
                                       curvature="paired" if paired else "exact", value=V)

    kind = "HJB" if policy is None else "policy evaluation"
    return ResidualPDE(name=f"{problem.name} {kind}", residual=residual, domain=problem.domain, paired=paired)


def _input_gradient(y: Tensor, x: Tensor, **options) -> Tensor:
    """∂y/∂x (n, d) for a scalar y, zeros where y does not depend on x (a constant or linear terminal g)."""
    if not y.requires_grad:
        return torch.zeros_like(x)
    return torch.autograd.grad(y, x, allow_unused=True, materialize_grads=True, **options)[0]


def level_shift(residual_pde: ResidualPDE, net: ValueNetwork, points: np.ndarray, discount: float) -> float:
    """δ = mean(R)/ρ over the points (n, d + 1), R the residual ∂_t V − ρV + … of residual_pde: V + δ zeroes R's mean.
    The level enters R only through ρV, its stiffest direction for the optimisers (as for hjb.solvers.evaluation)."""
    xt = torch.as_tensor(points, dtype=torch.float64).clone().requires_grad_(True)
    return float(residual_pde(xt, net(xt)).detach().mean()) / discount


def terminal_rate(problem: FiniteHorizonProblem, x: np.ndarray) -> float:
    """RMS over x (n, d) of |∂_t V − ρV| at T = max_a {r + L^a g}: the scale of the network's output (for a periodic
    problem, g ≡ 0: the size of max_a r, which ρV balances)."""
    d = problem.state_dim
    xg = torch.as_tensor(x, dtype=torch.float64).clone().requires_grad_(True)
    t = torch.full((len(x), 1), problem.horizon, dtype=torch.float64)
    g = problem.terminal(xg)
    dg = _input_gradient(g.sum(), xg, create_graph=True)
    if needs_hessian(d, problem.greedy_uses_hessian):
        d2g = torch.stack([_input_gradient(dg[:, i].sum(), xg, retain_graph=True) for i in range(d)], dim=1)
        with torch.no_grad():
            a = problem.greedy_action(xg.detach(), t, dg.detach(), d2g) if problem.greedy_action \
                else problem.initial_policy(xg.detach(), t)
            rate = finite_horizon_hamiltonian(problem, xg.detach(), t, a, dg.detach(), d2g)
    else:  # the curvature along Σ's columns, from ∇g's graph
        with torch.no_grad():
            a = problem.greedy_action(xg.detach(), t, dg.detach(), None) if problem.greedy_action \
                else problem.initial_policy(xg.detach(), t)
        rate = finite_horizon_hamiltonian(problem, xg, t, a, dg, None, graph_to=xg).detach()
    rate = rate - problem.discount * g.detach()
    return max(float(torch.sqrt(torch.mean(rate**2))), 1e-12)


def value_network(problem: FiniteHorizonProblem, settings: FiniteHorizonSettings, rate: float) -> ValueNetwork:
    """V = b(x, t) + (T − t)·rate·N_θ(x, t) (ValueNetwork, width × depth of the settings; b the problem's base,
    else g), or for a PeriodicProblem V = (rate/ρ)·N_θ(x, cos ωt, sin ωt): rebuilt the same way by the solver and by a
    run directory's loader, `rate` saved with the weights."""
    if isinstance(problem, PeriodicProblem):
        return ValueNetwork(problem.domain, settings.width, settings.depth,
                            PeriodicTime(problem.period, rate, problem.discount))
    return ValueNetwork(problem.domain, settings.width, settings.depth,
                        FixedTime(problem.terminal, at="end", rate=rate, base=problem.base))


def solve_finite_horizon(
    problem: FiniteHorizonProblem, settings: FiniteHorizonSettings | None = None, progress: Progress | bool = True,
    start: str | None = None,
) -> Solution:
    """Policy iteration for −∂_t V = max_a {r + L^a V}, V(·, T) = g; never sees a closed form.

    start="hjb" makes the first step a fit of the HJB residual itself (greedy action of the live network),
    so that PI starts from that fit's greedy policy; start="policy" evaluates the problem's initial policy
    first. On the 1-D diffusion case the HJB start reached an HJB residual RMS of 0.09 in 4 iterations,
    the initial-policy start 30 (from a ≡ 0, whose value is far from the optimum). None (the default) is "hjb" with
    a terminal condition and "policy" for a PeriodicProblem: without one the HJB admits spurious solutions that PI
    then keeps (the periodic LQR's fit of the HJB found the anti-stabilising Riccati root, V 54× off at a residual
    of 3e-3), while evaluating an admissible (stabilising) initial policy first leads PI to the stabilising one.
    """
    if start is None:
        start = "policy" if isinstance(problem, PeriodicProblem) else "hjb"
    if start not in ("hjb", "policy"):
        raise ProblemError(f"start must be 'hjb' or 'policy'; got {start!r}")
    s = settings or default_settings(problem)
    if problem.greedy_action is None:
        raise ProblemError(f"finite-horizon problem {problem.name!r} needs a greedy_action for policy improvement")
    if not isinstance(progress, Progress):
        progress = Progress(s.max_iterations, enabled=bool(progress), label=problem.name)
    scheme = FiniteHorizonScheme(problem, s, progress, start)
    return policy_iteration(scheme, s.max_iterations, s.min_iterations, progress)


class FiniteHorizonScheme:
    """The finite-horizon problem in the policy-iteration loop: evaluation by PINN on box × [0, T] (the HJB residual
    itself in the first iteration when start="hjb"), greedy improvement, the HJB residual relative to ∂_t V's scale
    and the change of V on the probe set; done once V changes by less than value_tol."""

    def __init__(self, problem: FiniteHorizonProblem, s: FiniteHorizonSettings, progress: Progress, start: str):
        problem.check_shapes()
        seed_everything(s.seed)
        self.problem, self.s, self.progress, self.start = problem, s, progress, start
        domain, d = problem.domain, problem.state_dim
        self.rollouts = problem.initial_law is not None
        if self.rollouts:  # the process's own states: fresh ones every Adam step, redrawn as the policy changes
            self.rng = np.random.default_rng(s.seed + 3)
            start = TimedPolicy(problem)
            self.pool = visited_space_time(problem, start, rollout_paths(s.collocation), self.rng)
            self.points = self.pool[self.rng.permutation(len(self.pool))[: s.collocation]]
            probe = visited_space_time(problem, start, -(-s.probe_points // ROLLOUT_STEPS), self.rng)
            self.probe = probe[self.rng.permutation(len(probe))[: s.probe_points]]
        else:
            points = domain.sample(s.collocation, s.sampling, seed=s.seed)
            visited = int(round(s.visited_fraction * s.collocation)) if hasattr(problem, "visited_points") else 0
            if visited:  # accuracy where the process lives, not only where the box has volume
                points[:visited] = problem.visited_points(visited, np.random.default_rng(s.seed + 3))
            self.points = points
            self.probe = domain.sample(s.probe_points, "sobol", seed=s.seed + 2)
        self.net = value_network(problem, s, terminal_rate(problem, self.points[:, :d]))
        self.previous = None

    def initial_policy(self) -> TimedPolicy:
        return TimedPolicy(self.problem)

    def solution(self, policy, history: list[dict], status: str) -> Solution:
        return Solution(self.problem, self.net, policy, history, self.s, status)

    def evaluate(self, it: int, policy, history: list[dict]) -> dict:
        """Fit V to ∂_t V + r + L^α V (or, first, to the HJB residual) at the collocation points."""
        s, progress = self.s, self.progress
        residual_pde = evaluation_pde(self.problem, None if it == 0 and self.start == "hjb" else policy)
        fresh = None
        if self.rollouts:
            if it > 0:  # the states of the policy being evaluated
                self.pool = visited_space_time(self.problem, policy, rollout_paths(s.collocation), self.rng)
            pool, rng = self.pool, self.rng

            def fresh(step: int) -> np.ndarray:
                return pool[rng.integers(len(pool), size=s.collocation)]

        periodic = self.net.affine  # V = offset + scale·N: its scale follows V's size, its level solved for
        if periodic and it > 0:
            self.net.rescale(*value_size(self.net, self.points))
        losses, _ = train_pinn(
            residual_pde, self.net, self.points,
            adam_steps=s.adam_steps_first if it == 0 else s.adam_steps, lbfgs_steps=s.pde_lbfgs_steps,
            learning_rate=s.learning_rate, iteration=it, fresh_points=fresh,
            on_chunk=lambda stage, steps, losses: progress.message(
                f"PI {it + 1}/{s.max_iterations} | {stage} step {steps:5d} | pde {float(losses.sum()):.2e}"))
        if periodic:  # V's level: first where R averages 0 over the box, then where the process lives
            self.net.shift_level(level_shift(residual_pde, self.net, self.points, self.problem.discount))
            evaluated = TimedPolicy(self.problem, self.net) if (it == 0 and self.start == "hjb") else policy
            self.net.shift_level(occupation_level(self.problem, residual_pde, self.net, evaluated, self.points,
                                                  np.random.default_rng(s.seed + 7 + it)))
        return {"iteration": it, "pde_loss": float(losses.sum())}

    def improve(self, it: int, policy) -> TimedPolicy:
        """The problem's closed-form greedy action from a frozen copy of V_k."""
        return TimedPolicy(self.problem, self.net)

    def measure(self, it: int, policy, history: list[dict]) -> dict:
        """HJB residual rms (and relative to the network's rate c, or for a periodic problem to ρ·V's spread), its max,
        and V's relative change on the probe set."""
        residual = self.solution(policy, history, "not_converged").hjb_residual(self.probe)
        value = self.net.values(self.probe)
        previous, self.previous = self.previous, value
        change = math.inf if previous is None else float(np.linalg.norm(value - previous) / np.linalg.norm(value))
        rms = float(np.sqrt(np.mean(residual**2)))
        unit = self.problem.discount * spread(value)[1] if self.net.affine else self.net.rate
        return {"hjb_residual_rms": rms, "hjb_residual_relative": rms / unit,
                "hjb_residual_max": float(np.max(np.abs(residual))), "value_change": change}

    def after(self, it: int, policy, history: list[dict]) -> None:
        return None

    def done(self, history: list[dict]) -> bool:
        return history[-1]["value_change"] < self.s.value_tol

    def status(self, history: list[dict]) -> str:
        return finite_horizon_status(history, self.s)


def finite_horizon_status(history: list[dict], s: FiniteHorizonSettings) -> str:
    """"converged" when the last value change is below value_tol and the HJB residual rms relative to the scale of
    ∂_t V (the network's rate, RMS of max_a {r + L^a g} at T) is at most residual_tol; else "not_converged"."""
    last = history[-1] if history else None
    if last is None or len(history) < 2:
        return "not_converged"
    settled = last["value_change"] < s.value_tol
    return "converged" if settled and last["hjb_residual_relative"] <= s.residual_tol else "not_converged"

