"""Policy evaluation for discounted problems, with Feynman–Kac anchors: the PINN on the linear evaluation PDE
(warm-started, with one fresh-network restart when it stalls), anchors of V^α by Monte Carlo, an anchored phase
where V disagrees with them, then V's level (hjb.solvers.anchors, hjb.solvers.evaluation)."""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import torch

from hjb.errors import TrainingDivergedError
from hjb.settings import SolverSettings
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
    size_at,
)
from hjb.solvers.evaluation import evaluate_policy, probe_residual, solve_level


@dataclass
class Carry:
    """What one policy evaluation hands the next: the fresh-network refits so far (restart), the last anchors and
    the relative change of V in the last iteration."""

    restarts: int = 0
    anchors: Anchors | None = None
    value_change: float = math.inf


def held(carry: Carry, s: SolverSettings) -> Anchors | None:
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


def evaluate_anchored(problem, critic, policy, collocation, anchor_x, probe, s, it, noise_dim, progress, partial,
              carry: Carry, fresh=None) -> dict:
    """Policy evaluation of α_k: the PINN on the linear PDE (warm-started from V_{k−1}), Feynman–Kac anchors,
    an anchored phase (anchors at V's level) when V's shape disagrees with them beyond their standard errors,
    then V's level in closed form from the PDE, or from the anchors where they disagree with it (level_shift).
    fresh(step) (n, d), if given, draws every Adam step's collocation points (hjb.nn.pinn_fit.fit)."""
    on_chunk = functools.partial(progress.training, it)
    # First phase: the PDE moves V_{k-1} towards V^{α_k}, so that the Feynman–Kac tail below is bootstrapped from
    # the new policy's value and not the old one's; the last anchors hold what the PDE leaves free once they
    # describe α_k within their noise (held).
    holding = held(carry, s)
    result = fit_pde(problem, critic, policy, collocation, anchor_x, s, s.adam_steps_first if it == 0 else s.adam_steps,
                     on_chunk, holding, fresh=fresh)
    _check_finite(result, it, partial)
    restarted = False
    if it > 0 and carry.restarts < s.restarts and result.pde_loss > s.restart_tol**2:
        carry.restarts += 1
        result, restarted = restart(problem, critic, policy, collocation, anchor_x, probe, s, on_chunk, result,
                                    progress, it, holding, fresh)
    precision = anchor_precision(carry.value_change, s)
    anchors, chi2 = _anchors(problem, policy, critic, anchor_x, probe, s, noise_dim, it, partial, precision)
    before = mean_misfit(critic, anchors, s.anchor_stderr)
    anchored = chi2 > s.anchor_chi2 and (s.anchored_adam_steps > 0 or s.lbfgs_steps > 0)
    _report_anchors(progress, it, anchors, chi2, s, anchored, critic, precision)
    if anchored:
        # Anchored phase: the anchors pin what the PDE leaves free (e.g. Merton's x^λ± modes).
        result = fit_pde(problem, critic, policy, collocation, anchor_x, s, s.anchored_adam_steps, on_chunk, anchors,
                          lbfgs_steps=s.lbfgs_steps, fresh=fresh)
        _check_finite(result, it, partial)
    carry.anchors = anchors
    estimate = anchors.estimate
    solve_level(problem, critic, policy, collocation)
    # The anchors overrule the PDE's level once V has settled, where they disagree with it beyond their standard errors
    # and the level is free (where the process exits, V = g on the faces holds it).
    shift = level_shift(before, mean_misfit(critic, anchors, s.anchor_stderr)[0], anchors, problem.discount,
                        precision, s) if free_level(problem) else 0.0
    critic.shift_level(shift)
    return {
        "iteration": it,
        "pde_loss": result.pde_loss,
        "anchor_loss": float(np.mean(((critic.value(torch.as_tensor(anchor_x)).numpy() - estimate.mean)
                                      / size_at(critic, anchor_x)) ** 2)),
        "anchor_stderr": (float(np.sqrt(np.mean((estimate.stderr / size_at(critic, anchor_x)) ** 2)))
                          if critic.profiled else joint_stderr(estimate) / critic.scale),
        "anchor_chi2": chi2,
        "anchored_phase": anchored,
        "anchor_chi2_final": disagreement(critic, anchors, s.anchor_stderr, free_level(problem)),
        "anchor_level_z": before[0] / before[1],
        "anchor_level_shift": shift / critic.scale,
        "anchor_paths": anchors.paths,
        "anchor_capped": anchors.capped,
        "anchor_precision": precision,
        "anchor_dt": anchors.dt,
        "anchor_horizon": anchors.horizon,
        "boundary_loss": result.boundary_loss,
        "steps": result.steps,
        "restarted": restarted,
    }


def free_level(problem) -> bool:
    """Whether V's level is free of boundary data: not where the process exits (V = g on the faces)."""
    return problem.boundary != "exit"


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
    return anchors, disagreement(critic, anchors, s.anchor_stderr, free_level(problem))


def _report_anchors(progress, it, anchors, chi2, s, anchored, critic, precision) -> None:
    progress.anchors(it, anchors.horizon, anchors.dt, anchors.paths, float(np.max(anchors.estimate.stderr)) / critic.scale,
                     chi2, s.anchor_chi2, anchored, anchors.capped, target=precision * math.sqrt(len(anchors.x)))


def fit_pde(problem, critic, policy, collocation, anchor_x, s, adam_steps, on_chunk, held: Anchors | None = None,
             lbfgs_steps: int | None = None, fresh=None):
    """The critic fitted to the evaluation PDE of α: Adam, then L-BFGS (at most `lbfgs_steps`, by default
    pde_lbfgs_steps) to fit_tol or a stall; with `held` anchors, to the PDE and those anchors at V's level (weight
    anchor_weight, each by its precision), which hold V's free modes."""
    if held is None:
        targets, weights, weight = np.zeros(len(anchor_x)), None, 0.0
    else:
        targets = level_free_targets(critic, held, s.anchor_stderr, free_level(problem))
        weights = anchor_weights(critic, held, s.anchor_stderr)
        weight = s.anchor_weight
    return evaluate_policy(
        problem, critic, policy, collocation, anchor_x, targets, adam_steps=adam_steps, learning_rate=s.learning_rate,
        lbfgs_steps=s.pde_lbfgs_steps if lbfgs_steps is None else lbfgs_steps, anchor_weight=weight,
        on_chunk=on_chunk, fit_tol=s.fit_tol, anchor_weights=weights, fresh_points=fresh,
    )


def restart(problem, critic, policy, collocation, anchor_x, probe, s, on_chunk, warm, progress, it, held=None,
            fresh=None):
    """The warm-started fit stalled above restart_tol: fit a freshly initialised network (same output scale) as in
    the first iteration and keep whichever fit has the lower evaluation residual on the probe points (held out:
    in 5-D, 256 collocation points, a fresh network fitted them better, 1.2e-3 against 2.3e-3, and was wrong between
    them). Returns (result, whether the fresh one won). A network trained on a very different V (the first
    policy's) can sit in a basin the optimisers do not leave: the bounded LQR's second policy is nearly bang-bang,
    and its warm fit stalled at a relative residual rms of 6e-2."""
    saved, before = critic.state(), probe_residual(problem, critic, policy, probe)
    critic.reinitialize()
    refit = fit_pde(problem, critic, policy, collocation, anchor_x, s, s.adam_steps_first, on_chunk, held, fresh=fresh)
    after = probe_residual(problem, critic, policy, probe) if refit.finite else math.inf
    won = after < before
    if not won:
        critic.load_state(saved)
    progress.message(f"PI {it + 1} | warm fit stalled (pde {warm.pde_loss:.2e} > restart_tol² {s.restart_tol**2:.0e}); "
                     f"fresh network: probe residual {after:.2e} against {before:.2e}, {'kept' if won else 'discarded'}")
    return (refit if won else warm), won


def _check_finite(result, it: int, partial) -> None:
    if not result.finite:
        raise TrainingDivergedError(
            f"training produced NaN/inf in PI iteration {it + 1}; kept the last finite weights",
            iteration=it + 1, last_finite=partial("diverged"),
        )
