"""Policy iteration (seed §2.1): evaluate α_k by PINN on the linear PDE, improve by argmax of Q_k, repeat."""
from __future__ import annotations

import copy
import functools
import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from hjb.errors import ProblemError, TrainingDivergedError
from hjb.geometry.sampling import residual_weighted_pick
from hjb.nn.value_network import ValueNetwork
from hjb.pdes.problem import ControlProblem
from hjb.progress import Progress
from hjb.settings import SolverSettings
from hjb.solvers.admissibility import check_start
from hjb.solvers.anchors import (
    Anchors,
    anchor_precision,
    anchor_weights,
    disagreement,
    estimate_anchors,
    joint_stderr,
    level_free_targets,
    level_shift,
    mean_misfit,
)
from hjb.solvers.evaluation import evaluate_policy, probe_residual, solve_level
from hjb.solvers.improvement import actor_ascent
from hjb.solvers.policies import ActorPolicy, GreedyPolicy, InitialPolicy
from hjb.solvers.solution import Solution
from hjb.solvers.stopping import done, status


def seed_everything(seed: int) -> None:
    """One seed for torch, numpy's legacy global RNG and Python's random (DeepXDE draws from them)."""
    import random

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def solve(
    problem: ControlProblem, settings: SolverSettings | None = None, progress: Progress | bool = True
) -> Solution:
    """Solve ρV = max_a {r + L^a V} on the problem's box by policy iteration; never sees a closed form.

    Refuses a start with non-finite coefficients or a singular reward (ProblemError) before training.
    Raises TrainingDivergedError (with .last_finite, a Solution at the last finite weights) on NaN/inf.
    """
    s = settings or SolverSettings()
    if not isinstance(progress, Progress):
        progress = Progress(s.max_iterations, enabled=bool(progress), label=problem.name)
    noise_dim = problem.check_shapes()
    use_actor = s.improvement == "actor" or (s.improvement == "auto" and problem.greedy_action is None)
    if s.improvement == "greedy" and problem.greedy_action is None:
        raise ProblemError(f"improvement='greedy' needs problem {problem.name!r} to declare greedy_action")
    seed_everything(s.seed)
    box = problem.domain
    collocation = box.sample(s.collocation, s.sampling, seed=s.seed)
    anchor_x = box.spread_points(s.anchors, seed=s.seed + 1)
    probe = box.sample(s.probe_points, "sobol", seed=s.seed + 2)
    check_start(problem, np.concatenate([collocation, probe]))
    critic = ValueNetwork(box, s.width, s.depth)
    actor = ActorPolicy(problem, s.actor_width, s.actor_depth, critic) if use_actor else None
    policy = InitialPolicy(problem)
    critic.set_output_scale(*_reward_scale(problem, policy, collocation))
    history: list[dict] = []
    previous, carry = None, _Carry()
    for it in range(s.max_iterations):
        t0 = time.perf_counter()

        def partial(status: str, policy=policy) -> Solution:
            return Solution(problem, critic, policy, history, s, status=status)

        if it > 0:  # the scale follows V's spread, so the losses stay relative to the V being learned
            critic.rescale(*_spread(critic.value(torch.as_tensor(collocation, dtype=torch.float64)).numpy()))
        record = _evaluate(problem, critic, policy, collocation, anchor_x, probe, s, it, noise_dim, progress, partial,
                           carry)
        # Improvement: α_{k+1} = argmax_a Q_k(x, a).
        if use_actor:
            actor_ascent(problem, critic, actor, collocation, steps=s.actor_steps, learning_rate=s.actor_learning_rate,
                         lbfgs_steps=s.actor_lbfgs_steps)
            policy = copy.deepcopy(actor)
        else:
            policy = GreedyPolicy(problem, critic)
        diagnostics, previous = _diagnostics(Solution(problem, critic, policy, history, s), probe, previous)
        record.update(diagnostics)
        carry.value_change = record["value_change"]
        record["seconds"] = time.perf_counter() - t0
        history.append(record)
        progress.iteration(record)
        if s.resample_fraction > 0:
            collocation = _resample(problem, Solution(problem, critic, policy, history, s), box, collocation, s, it)
        if it + 1 >= max(s.min_iterations, 2) and done(history, s):
            break
    progress.close()
    return Solution(problem, critic, policy, history, s, status=status(history, s))


@dataclass
class _Carry:
    """What one policy evaluation hands the next: the fresh-network refits so far (_restart), the last anchors and
    the relative change of V in the last iteration."""

    restarts: int = 0
    anchors: Anchors | None = None
    value_change: float = math.inf


def _held(carry: _Carry, s: SolverSettings) -> Anchors | None:
    """The last anchors, to hold V's free modes in the next PDE fit, once V changed by less than their relative
    standard error in the last iteration: their bias for the new policy, V^{α_k} − V^{α_{k−1}}, is then within
    their noise (policy iteration converges quadratically). Held from the start, the first policy's anchors
    pulled the next fit to residuals of 0.2–0.3. Alone, the PDE lets the optimisers slide along the free
    modes: in merton_gamma05, from V within 3.7e-4 of V* and π within 1.7e-3, a PDE-only refit for the same policy
    went to 1.3e-2 and 4.4e-2 (anchors' χ² 0.35 → 93), and the next anchored phase did not bring it back."""
    anchors = carry.anchors
    if anchors is None or not carry.value_change <= s.anchor_stderr * math.sqrt(len(anchors.x)):
        return None
    return anchors


def _evaluate(problem, critic, policy, collocation, anchor_x, probe, s, it, noise_dim, progress, partial,
              carry: _Carry) -> dict:
    """Policy evaluation of α_k: the PINN on the linear PDE (warm-started from V_{k−1}), Feynman–Kac anchors,
    an anchored phase (anchors at V's level) when V's shape disagrees with them beyond their standard errors,
    then V's level in closed form from the PDE, or from the anchors where they disagree with it (level_shift)."""
    on_chunk = functools.partial(progress.training, it)
    # First phase: the PDE moves V_{k-1} towards V^{α_k}, so that the Feynman–Kac tail below is bootstrapped from
    # the new policy's value and not the old one's; the last anchors hold what the PDE leaves free once they
    # describe α_k within their noise (_held).
    held = _held(carry, s)
    result = _fit_pde(problem, critic, policy, collocation, anchor_x, s, s.adam_steps_first if it == 0 else s.adam_steps,
                      on_chunk, held)
    _check_finite(result, it, partial)
    restarted = False
    if it > 0 and carry.restarts < s.restarts and result.pde_loss > s.restart_tol**2:
        carry.restarts += 1
        result, restarted = _restart(problem, critic, policy, collocation, anchor_x, probe, s, on_chunk, result,
                                     progress, it, held)
    precision = anchor_precision(carry.value_change, s)
    anchors, chi2 = _anchors(problem, policy, critic, anchor_x, probe, s, noise_dim, it, partial, precision)
    before = mean_misfit(critic, anchors, s.anchor_stderr)
    anchored = chi2 > s.anchor_chi2 and (s.anchored_adam_steps > 0 or s.lbfgs_steps > 0)
    _report_anchors(progress, it, anchors, chi2, s, anchored, critic, precision)
    if anchored:
        # Anchored phase: the anchors pin what the PDE leaves free (e.g. Merton's x^λ± modes).
        result = _fit_pde(problem, critic, policy, collocation, anchor_x, s, s.anchored_adam_steps, on_chunk, anchors,
                          lbfgs_steps=s.lbfgs_steps)
        _check_finite(result, it, partial)
    carry.anchors = anchors
    estimate = anchors.estimate
    solve_level(problem, critic, policy, collocation)
    # The anchors overrule the PDE's level once V has settled, where they disagree with it beyond their standard errors.
    shift = level_shift(before, mean_misfit(critic, anchors, s.anchor_stderr)[0], anchors, problem.discount,
                        precision, s)
    critic.shift_level(shift)
    return {
        "iteration": it,
        "pde_loss": result.pde_loss,
        "anchor_loss": float(np.mean(((critic.value(torch.as_tensor(anchor_x)).numpy() - estimate.mean)
                                      / critic.scale) ** 2)),
        "anchor_stderr": joint_stderr(estimate) / critic.scale,
        "anchor_chi2": chi2,
        "anchored_phase": anchored,
        "anchor_chi2_final": disagreement(critic, anchors, s.anchor_stderr),
        "anchor_level_z": before[0] / before[1],
        "anchor_level_shift": shift / critic.scale,
        "anchor_paths": anchors.paths,
        "anchor_capped": anchors.capped,
        "anchor_precision": precision,
        "anchor_dt": anchors.dt,
        "anchor_horizon": anchors.horizon,
        "steps": result.steps,
        "restarted": restarted,
    }


def _anchors(problem, policy, critic, anchor_x, probe, s, noise_dim, it, partial, precision) -> tuple[Anchors, float]:
    """Feynman–Kac anchors of α_k (hjb.solvers.anchors) to `precision` and V_θ's χ² against them; TrainingDivergedError
    when not finite."""
    anchors = estimate_anchors(problem, policy, critic, anchor_x, probe[:128], s, noise_dim, seed=s.seed * 1000,
                               precision=precision)
    if not np.all(np.isfinite(anchors.estimate.mean)):
        raise TrainingDivergedError(
            f"Feynman–Kac anchor values are NaN/inf in PI iteration {it + 1}; kept the last finite weights",
            iteration=it + 1, last_finite=partial("diverged"),
        )
    return anchors, disagreement(critic, anchors, s.anchor_stderr)


def _report_anchors(progress, it, anchors, chi2, s, anchored, critic, precision) -> None:
    progress.anchors(it, anchors.horizon, anchors.dt, anchors.paths, float(np.max(anchors.estimate.stderr)) / critic.scale,
                     chi2, s.anchor_chi2, anchored, anchors.capped, target=precision * math.sqrt(len(anchors.x)))


def _fit_pde(problem, critic, policy, collocation, anchor_x, s, adam_steps, on_chunk, held: Anchors | None = None,
             lbfgs_steps: int | None = None):
    """The critic fitted to the evaluation PDE of α: Adam, then L-BFGS (at most `lbfgs_steps`, by default
    pde_lbfgs_steps) to fit_tol or a stall; with `held` anchors, to the PDE and those anchors at V's level (weight
    anchor_weight, each by its precision), which hold V's free modes."""
    if held is None:
        targets, weights, weight = np.zeros(len(anchor_x)), None, 0.0
    else:
        targets, weights = level_free_targets(critic, held, s.anchor_stderr), anchor_weights(critic, held, s.anchor_stderr)
        weight = s.anchor_weight
    return evaluate_policy(
        problem, critic, policy, collocation, anchor_x, targets, adam_steps=adam_steps, learning_rate=s.learning_rate,
        lbfgs_steps=s.pde_lbfgs_steps if lbfgs_steps is None else lbfgs_steps, anchor_weight=weight,
        on_chunk=on_chunk, fit_tol=s.fit_tol, anchor_weights=weights,
    )


def _restart(problem, critic, policy, collocation, anchor_x, probe, s, on_chunk, warm, progress, it, held=None):
    """The warm-started fit stalled above restart_tol: fit a freshly initialised network (same output scale) as in
    the first iteration and keep whichever fit has the lower evaluation residual on the probe points (held out:
    in 5-D, 256 collocation points, a fresh network fitted them better, 1.2e-3 against 2.3e-3, and was wrong between
    them). Returns (result, whether the fresh one won). A network trained on a very different V (the first
    policy's) can sit in a basin the optimisers do not leave: the bounded LQR's second policy is nearly bang-bang,
    and its warm fit stalled at a relative residual rms of 6e-2."""
    saved, before = critic.state(), probe_residual(problem, critic, policy, probe)
    critic.reinitialize()
    fresh = _fit_pde(problem, critic, policy, collocation, anchor_x, s, s.adam_steps_first, on_chunk, held)
    after = probe_residual(problem, critic, policy, probe) if fresh.finite else math.inf
    won = after < before
    if not won:
        critic.load_state(saved)
    progress.message(f"PI {it + 1} | warm fit stalled (pde {warm.pde_loss:.2e} > restart_tol² {s.restart_tol**2:.0e}); "
                     f"fresh network: probe residual {after:.2e} against {before:.2e}, {'kept' if won else 'discarded'}")
    return (fresh if won else warm), won


def _diagnostics(solution: Solution, probe: np.ndarray, previous) -> tuple[dict, tuple[np.ndarray, np.ndarray]]:
    """HJB residual at the improved action on the probe set, relative to ρ·(the spread of V there), and the relative
    change of V and α since `previous` (V, α on the probe set, or None); returns the record and this (V, α)."""
    value, action = solution.value(probe), solution.action(probe)
    residual = solution.hjb_residual(probe) / (solution.problem.discount * _spread(value)[1])
    record = {"hjb_residual_rms": float(np.sqrt(np.mean(residual**2))),
              "hjb_residual_max": float(np.max(np.abs(residual))), "value_change": math.inf, "policy_change": math.inf}
    if previous is not None:
        record["value_change"] = float(np.linalg.norm(value - previous[0]) / np.linalg.norm(value))
        record["policy_change"] = float(np.linalg.norm(action - previous[1]) / max(np.linalg.norm(action), 1e-300))
    return record, (value, action)


def _check_finite(result, it: int, partial) -> None:
    if not result.finite:
        raise TrainingDivergedError(
            f"training produced NaN/inf in PI iteration {it + 1}; kept the last finite weights",
            iteration=it + 1, last_finite=partial("diverged"),
        )


def _spread(values: np.ndarray) -> tuple[float, float]:
    """(mean, spread) of values (n,): spread = max(std, 1e-3·|mean|, 1e-12), (0, 1) when none is finite."""
    values = values[np.isfinite(values)]
    if values.size == 0:
        return 0.0, 1.0
    mean = float(np.mean(values))
    return mean, max(float(np.std(values)), 1e-3 * abs(mean), 1e-12)


def _reward_scale(problem: ControlProblem, policy, x: np.ndarray) -> tuple[float, float]:
    """(offset, scale) = _spread of r(x, α_0(x))/ρ over x (n, d): the size V is expected to have."""
    xt = torch.as_tensor(x, dtype=torch.float64)
    with torch.no_grad():
        return _spread(problem.reward(xt, policy(xt))[:, 0].numpy() / problem.discount)


def _resample(problem, solution, box, collocation, s, it) -> np.ndarray:
    """Replace a fraction of the collocation points by candidates drawn ∝ |HJB residual|."""
    n_new = int(round(s.resample_fraction * len(collocation)))
    candidates = box.sample(8 * len(collocation), "uniform", seed=s.seed + 100 + it)
    picks = residual_weighted_pick(candidates, solution.hjb_residual(candidates), n_new, seed=s.seed + it)
    keep = np.random.default_rng(s.seed + it).permutation(len(collocation))[: len(collocation) - n_new]
    return np.concatenate([collocation[keep], picks], axis=0)
