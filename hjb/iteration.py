"""Policy iteration (seed §2.1): evaluate α_k by PINN on the linear PDE, improve by argmax of Q_k, repeat."""
from __future__ import annotations

import copy
import functools
import math
import time

import numpy as np
import torch

from hjb.critic import Critic
from hjb.errors import TrainingDivergedError
from hjb.evaluation import evaluate_policy, solve_level
from hjb.feynman_kac import feynman_kac
from hjb.geometry.sampling import residual_weighted_pick
from hjb.improvement import actor_ascent
from hjb.pdes.problem import ControlProblem
from hjb.policies import ActorPolicy, GreedyPolicy, InitialPolicy
from hjb.progress import Progress
from hjb.settings import SolverSettings
from hjb.solution import Solution

COURANT = 0.05  # Euler–Maruyama step ≤ COURANT / (Lipschitz constant of the closed-loop drift)


def seed_everything(seed: int) -> None:
    """One seed for torch, numpy's legacy global RNG and Python's random (DeepXDE draws from them)."""
    import random

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def drift_lipschitz(problem: ControlProblem, policy, x: np.ndarray) -> float:
    """max ‖F(x_i) − F(x_j)‖ / ‖x_i − x_j‖ over pairs of x (n, d), F(x) = f(x, α(x)) the closed-loop drift."""
    xt = torch.as_tensor(x, dtype=torch.float64)
    with torch.no_grad():
        F = problem.drift(xt, policy(xt))
    dx = torch.cdist(xt, xt)
    dF = torch.cdist(F, F)
    mask = dx > 1e-9
    return float((dF[mask] / dx[mask]).max()) if mask.any() else 0.0


def solve(
    problem: ControlProblem, settings: SolverSettings | None = None, progress: Progress | bool = True
) -> Solution:
    """Solve ρV = max_a {r + L^a V} on the problem's box by policy iteration; never sees a closed form.

    Raises TrainingDivergedError (with .last_finite, a Solution at the last finite weights) on NaN/inf.
    """
    s = settings or SolverSettings()
    if not isinstance(progress, Progress):
        progress = Progress(s.max_iterations, enabled=bool(progress), label=problem.name)
    noise_dim = problem.check_shapes()
    seed_everything(s.seed)
    box = problem.domain
    use_actor = s.improvement == "actor" or (s.improvement == "auto" and problem.greedy_action is None)
    if s.improvement == "greedy" and problem.greedy_action is None:
        from hjb.errors import ProblemError

        raise ProblemError(f"improvement='greedy' needs problem {problem.name!r} to declare greedy_action")
    critic = Critic(box, s.width, s.depth)
    actor = ActorPolicy(problem, s.actor_width, s.actor_depth, critic) if use_actor else None
    collocation = box.sample(s.collocation, s.sampling, seed=s.seed)
    anchor_x = box.spread_points(s.anchors, seed=s.seed + 1)
    probe = box.sample(s.probe_points, "sobol", seed=s.seed + 2)
    probe_t = torch.as_tensor(probe, dtype=torch.float64)
    horizon = s.anchor_horizon if s.anchor_horizon is not None else 0.5 / problem.discount
    policy = InitialPolicy(problem)
    history: list[dict] = []
    previous_value = None
    previous_action = None
    trained = False

    def partial(status: str) -> Solution:
        final = policy if policy.kind != "initial" else InitialPolicy(problem)
        return Solution(problem, critic, final, history, s, status=status)

    for it in range(s.max_iterations):
        t0 = time.perf_counter()
        # Evaluation of α_k: the PINN on the linear PDE, warm-started from V_{k-1}, pinned by
        # Feynman–Kac anchors whose tail and control variate come from the critic.
        on_chunk = functools.partial(progress.training, it)
        if not trained:
            critic.set_output_scale(*_reward_scale(problem, policy, collocation))
        # Unanchored phase: the PDE alone moves V_{k-1} towards V^{α_k}, so that the Feynman–Kac tail
        # below is bootstrapped from the new policy's value and not the old one's.
        result = evaluate_policy(
            problem, critic, policy, collocation, anchor_x, np.zeros(len(anchor_x)),
            adam_steps=s.adam_steps_first if it == 0 else s.adam_steps, learning_rate=s.learning_rate,
            lbfgs_steps=s.pde_lbfgs_steps, anchor_weight=0.0, on_chunk=on_chunk,
        )
        _check_finite(result, it, partial)
        collocation_t = torch.as_tensor(collocation, dtype=torch.float64)
        value_at_anchoring = critic.value(collocation_t)
        dt = min(s.anchor_dt, COURANT / max(drift_lipschitz(problem, policy, probe[:128]), 1e-12))
        dt = max(dt, horizon / s.anchor_max_steps)  # a wild early policy must not stall the rollouts
        estimate = feynman_kac(
            problem, policy, anchor_x, paths=s.anchor_paths, horizon=horizon, dt=dt,
            tail=critic.value, gradient=critic.value_derivatives, noise_dim=noise_dim, seed=s.seed * 1000 + it,
        )
        if not np.all(np.isfinite(estimate.mean)):
            raise TrainingDivergedError(
                f"Feynman–Kac anchor values are NaN/inf in PI iteration {it + 1}; kept the last finite weights",
                iteration=it + 1, last_finite=partial("diverged"),
            )
        if s.anchored_adam_steps or s.lbfgs_steps:
            # Anchored phase: the anchors pin what the PDE leaves free (e.g. Merton's x^λ± modes).
            result = evaluate_policy(
                problem, critic, policy, collocation, anchor_x, estimate.mean,
                adam_steps=s.anchored_adam_steps, learning_rate=s.learning_rate, lbfgs_steps=s.lbfgs_steps,
                anchor_weight=s.anchor_weight, on_chunk=on_chunk,
            )
            _check_finite(result, it, partial)
        trained = True
        solve_level(
            problem, critic, policy, collocation, anchor_x, estimate.mean, weight=s.level_weight,
            tail_discount=float(np.exp(-problem.discount * horizon)),
            tail_shift=float((critic.value(collocation_t) - value_at_anchoring).mean()),
        )
        # Improvement: α_{k+1} = argmax_a Q_k(x, a).
        if use_actor:
            actor_ascent(problem, critic, actor, collocation, steps=s.actor_steps, learning_rate=s.actor_learning_rate)
            policy = copy.deepcopy(actor)
        else:
            policy = GreedyPolicy(problem, critic)
        # Diagnostics on the probe set: HJB residual at the improved action, value and policy change.
        solution = Solution(problem, critic, policy, history, s)
        residual = solution.hjb_residual(probe) / (problem.discount * critic.scale)
        value = critic.value(probe_t).numpy()
        action = policy(probe_t).numpy()
        value_change = math.inf if previous_value is None else float(
            np.linalg.norm(value - previous_value) / np.linalg.norm(value))
        policy_change = math.inf if previous_action is None else float(
            np.linalg.norm(action - previous_action) / max(np.linalg.norm(action), 1e-300))
        previous_value, previous_action = value, action
        record = {
            "iteration": it,
            "pde_loss": result.pde_loss,
            "anchor_loss": float(np.mean(((critic.value(torch.as_tensor(anchor_x)).numpy() - estimate.mean)
                                          / critic.scale) ** 2)),
            "anchor_stderr": float(np.mean(estimate.stderr) / critic.scale),
            "anchor_dt": dt,
            "anchor_horizon": horizon,
            "steps": result.steps,
            "hjb_residual_rms": float(np.sqrt(np.mean(residual**2))),
            "hjb_residual_max": float(np.max(np.abs(residual))),
            "value_change": value_change,
            "policy_change": policy_change,
            "seconds": time.perf_counter() - t0,
        }
        history.append(record)
        progress.iteration(record)
        if s.resample_fraction > 0:
            collocation = _resample(problem, solution, box, collocation, s, it)
        if it + 1 >= max(s.min_iterations, 2) and _plateaued(history, s):
            break
    status = "converged" if _plateaued(history, s) else "max_iterations"
    return Solution(problem, critic, policy, history, s, status=status)


def _check_finite(result, it: int, partial) -> None:
    if not result.finite:
        raise TrainingDivergedError(
            f"training produced NaN/inf in PI iteration {it + 1}; kept the last finite weights",
            iteration=it + 1, last_finite=partial("diverged"),
        )


def _reward_scale(problem: ControlProblem, policy, x: np.ndarray) -> tuple[float, float]:
    """(offset, scale) = (mean, spread) of r(x, α_0(x))/ρ over x (n, d): the size V is expected to have."""
    xt = torch.as_tensor(x, dtype=torch.float64)
    with torch.no_grad():
        r = problem.reward(xt, policy(xt))[:, 0].numpy() / problem.discount
    r = r[np.isfinite(r)]
    if r.size == 0:
        return 0.0, 1.0
    mean = float(np.mean(r))
    return mean, max(float(np.std(r)), 1e-3 * abs(mean), 1e-12)


def _plateaued(history: list[dict], s: SolverSettings) -> bool:
    if len(history) < 2:
        return False
    last, before = history[-1], history[-2]
    residual_gain = (before["hjb_residual_rms"] - last["hjb_residual_rms"]) / max(before["hjb_residual_rms"], 1e-300)
    settled = last["value_change"] < s.value_tol or last["policy_change"] < s.policy_tol
    return settled and residual_gain < s.residual_plateau


def _resample(problem, solution, box, collocation, s, it) -> np.ndarray:
    """Replace a fraction of the collocation points by candidates drawn ∝ |HJB residual|."""
    n_new = int(round(s.resample_fraction * len(collocation)))
    candidates = box.sample(8 * len(collocation), "uniform", seed=s.seed + 100 + it)
    picks = residual_weighted_pick(candidates, solution.hjb_residual(candidates), n_new, seed=s.seed + it)
    keep = np.random.default_rng(s.seed + it).permutation(len(collocation))[: len(collocation) - n_new]
    return np.concatenate([collocation[keep], picks], axis=0)
