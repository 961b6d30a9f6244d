"""`hjb simulate` as a function: a run directory → N closed-loop rollouts from x0 under its learned policy (and, where
hjb.validation knows it, the optimal policy on the same noise) → simulation.npz, .json and .png in RUN/simulate.

Defaults (README, `hjb simulate`): a discounted run (ControlProblem, PeriodicProblem) is simulated from t = 0 over
T = DISCOUNT_TAIL/ρ, at most MAX_HORIZON (the reward beyond weighs e^{−5} ≈ 0.7% of the discounted total); a
finite-horizon run from its t0 to its T (no further: V and the policy exist only there), adding the terminal reward
when the rollout reaches T. The step is the anchors' rule (hjb.solvers.anchors): min(T/MIN_STEPS, COURANT/Lip), Lip
the largest Lipschitz constant of the closed-loop drifts x ↦ f(x, α(x, t0)) over the box (the learned policy's and the
optimal one's), raised to T/MAX_STEPS; the mean reward carries Euler–Maruyama's O(dt) bias. A learned run (`hjb learn`)
is stepped by its environment (rebuilt from the run's environment.py) at the environment's own dt, over the horizon
rounded to a whole number of steps; a ProblemEnvironment's problem with a known optimal policy rolls that out beside.
"""
from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from hjb.errors import ProblemError, RunDirError, positive, positive_int
from hjb.io.atomic import check_replaceable
from hjb.montecarlo.simulate import (
    Policy,
    ProblemStepper,
    Rollout,
    environment_stepper,
    rollout,
    stationary,
    time_grid,
)
from hjb.pdes.finite_horizon import FiniteHorizonProblem
from hjb.pdes.periodic import PeriodicProblem
from hjb.solvers.anchors import COURANT

DEFAULT_PATHS = 256
DISCOUNT_TAIL = 5.0
MAX_HORIZON = 100.0
MIN_STEPS, MAX_STEPS = 200, 2000  # the anchors' defaults, SolverSettings.anchor_steps and anchor_max_steps
PROBE_POINTS = 64


def parse_x0(values: str | Sequence[str]) -> np.ndarray:
    """The numbers (d,) of --x0, given as one or more strings of floats separated by commas or spaces; ProblemError
    for an empty list, a word that is not a number, NaN or inf."""
    text = values if isinstance(values, str) else " ".join(values)
    words = [w for w in re.split(r"[,\s]+", text.strip()) if w]
    try:
        x0 = np.array([float(w) for w in words], dtype=float)
    except ValueError:
        raise ProblemError(f"--x0 must be numbers separated by commas (one per state component); got {text!r}") from None
    if x0.size == 0 or not np.all(np.isfinite(x0)):
        raise ProblemError(f"--x0 must be finite numbers separated by commas (one per state component); got {text!r}")
    return x0


def learned_policy(solution) -> Policy:
    """The run's policy α as a Policy (x (n, d), t) -> (n, m), read at x clipped into the box (the network was trained
    there only); a finite-horizon run's at (x, t), a periodic run's at (x, t mod τ)."""
    problem = solution.problem
    if not solution.finite_horizon:
        box = problem.domain
        return stationary(lambda x: solution.action(np.clip(x, box.lo, box.hi)))
    box, period = problem.domain.box, problem.period if isinstance(problem, PeriodicProblem) else None

    def policy(x: np.ndarray, t: float) -> np.ndarray:
        time = math.fmod(t, period) if period is not None else t
        return solution.action(np.column_stack([np.clip(x, box.lo, box.hi), np.full(len(x), time)]))

    return policy


def horizon_bounds(problem) -> tuple[float, float | None, float]:
    """(t0, the longest horizon or None, the default horizon): discounted (and periodic) runs from 0, any horizon,
    default min(DISCOUNT_TAIL/ρ, MAX_HORIZON); finite-horizon runs from t0 to at most T − t0, the default."""
    if isinstance(problem, PeriodicProblem) or not isinstance(problem, FiniteHorizonProblem):
        return 0.0, None, min(DISCOUNT_TAIL / problem.discount, MAX_HORIZON)
    t0, t1 = problem.domain.t0, problem.domain.t1
    return t0, t1 - t0, t1 - t0


def natural_step(problem, policies: Sequence[Policy], horizon: float, t0: float) -> float:
    """min(T/MIN_STEPS, COURANT/Lip) raised to T/MAX_STEPS, Lip the largest over the policies α of
    max |F(x_i) − F(x_j)|/|x_i − x_j| over PROBE_POINTS points of the box, F(x) = f(x, α(x, t0)[, t0]) the closed-loop
    drift (one grid for every policy: their rollouts share the noise)."""
    timed = isinstance(problem, FiniteHorizonProblem)
    box = problem.domain.box if timed else problem.domain
    x = box.sample(PROBE_POINTS, "sobol", seed=0)
    xt, mask = torch.as_tensor(x), ~np.eye(len(x), dtype=bool)
    dx = np.linalg.norm(x[:, None] - x[None], axis=-1)[mask]
    lipschitz = 0.0
    for policy in policies:
        at = torch.as_tensor(policy(x, t0), dtype=torch.float64)
        with torch.no_grad():
            F = (problem.drift(xt, at, torch.full((len(x), 1), t0, dtype=torch.float64)) if timed
                 else problem.drift(xt, at)).numpy()
        dF = np.linalg.norm(F[:, None] - F[None], axis=-1)[mask]
        lipschitz = max(lipschitz, float((dF / np.maximum(dx, 1e-300)).max()))
    step = horizon / MIN_STEPS if lipschitz <= 0 else min(horizon / MIN_STEPS, COURANT / lipschitz)
    return max(step, horizon / MAX_STEPS)


def simulate_run(run_dir: str | os.PathLike, x0: str | Sequence[str], paths: int = DEFAULT_PATHS,
                 horizon: float | None = None, dt: float | None = None, seed: int = 0,
                 out: str | os.PathLike | None = None) -> tuple[dict, Path]:
    """Roll out `paths` closed-loop paths of the run's learned policy from x0 (hjb.montecarlo.simulate, the problem's
    Euler–Maruyama stepper, numpy seed `seed`) and, where hjb.validation.optimal_policy knows one, of the optimal
    policy on the same noise; write them to `out` (default RUN/simulate); return the summary and the directory.
    Every argument is checked before anything is computed or written."""
    from hjb.io.rundir import LEARNED, RESIDUAL, load_run, run_kind
    from hjb.io.simulation import MARKER, summary, write_simulation
    from hjb.validation.optimal_policy import optimal_policy

    paths = positive_int(paths, "--paths")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ProblemError(f"--seed must be an integer ≥ 0; got {seed!r}")
    start = parse_x0(x0)
    solution = load_run(run_dir)
    problem = solution.problem
    if run_kind(solution) == RESIDUAL:
        raise RunDirError(f"run directory {run_dir} holds a residual PDE ({type(problem).__name__}); `hjb simulate` "
                          "needs the run of a control problem")
    model_free = run_kind(solution) == LEARNED
    if model_free:
        _check_steps_anywhere(problem, run_dir)
    box = problem.domain.box if solution.finite_horizon else problem.domain
    _check_start(start, box, problem.state_names)
    t0, longest, default = horizon_bounds(problem)
    horizon = default if horizon is None else positive(horizon, "--horizon must be a finite number > 0")
    if longest is not None and horizon > longest * (1 + 1e-12):
        raise ProblemError(f"--horizon {horizon:g} runs past the run's final time T = {t0 + longest:g} (from t0 = "
                           f"{t0:g}); expected at most {longest:g}")
    horizon = horizon if longest is None else min(horizon, longest)
    modelled = getattr(problem, "problem", None) if model_free else problem  # a ProblemEnvironment's problem
    policy, known = learned_policy(solution), optimal_policy(modelled)
    optimal = None if known is None else stationary(known)
    if model_free:
        dt, horizon = _environment_grid(problem, dt, horizon)
    elif dt is None:
        dt = natural_step(problem, [policy] if optimal is None else [policy, optimal], horizon, t0)
    dt = positive(dt, "--dt must be a finite number > 0")
    if dt > horizon:
        raise ProblemError(f"--dt {dt:g} is longer than the horizon {horizon:g}; expected dt ≤ T")
    out = Path(run_dir) / "simulate" if out is None else Path(out)
    try:
        check_replaceable(out, MARKER)
    except RunDirError:
        raise RunDirError(f"--out {out} exists and is not an earlier `hjb simulate` output (no {MARKER}); expected a "
                          "new path or an empty directory") from None
    times = time_grid(horizon, dt, t0)
    reaches_end = longest is not None and math.isclose(horizon, longest, rel_tol=1e-12)
    terminal = _terminal(problem) if reaches_end else None

    def simulate(pol: Policy) -> Rollout:
        stepper = environment_stepper(problem) if model_free else ProblemStepper(problem, t0)
        return rollout(pol, stepper, start, times, paths=paths, discount=problem.discount, seed=seed,
                       terminal=terminal)

    learned, reference = simulate(policy), None if optimal is None else simulate(optimal)
    settings = {"run": str(run_dir), "problem": problem.name, "kind": type(problem).__name__,
                "state_names": list(problem.state_names), "action_names": list(problem.action_names),
                "x0": start.tolist(), "paths": paths, "t0": t0, "horizon": horizon, "dt": float(times[1] - times[0]),
                "steps": len(times) - 1, "seed": seed, "discount": problem.discount,
                "terminal_reward": terminal is not None, "policy": solution.policy.kind,
                "optimal_policy": known.source if known is not None else None}
    title = f"hjb simulate — {problem.name} from x0 = {_vector(start)}, {paths} paths"
    write_simulation(out, learned, reference, settings, problem.state_names, title)
    return summary(learned, reference, settings), out


def _check_start(x0: np.ndarray, box, names: Sequence[str]) -> None:
    """ProblemError unless x0 has one number per state component and lies in the closed box."""
    if x0.size != box.dim:
        raise ProblemError(f"--x0 has {x0.size} numbers; expected {box.dim}, one per state component "
                           f"({', '.join(names)})")
    if not box.contains(x0[None])[0]:
        raise ProblemError(f"--x0 {_vector(x0)} lies outside the run's box [{_vector(box.lo)}, {_vector(box.hi)}]; "
                           "expected a start where the policy was learnt")


def _check_steps_anywhere(env, run_dir) -> None:
    """ProblemError for a GymnasiumEnvironment: its copies step from their own states only, never from --x0."""
    from hjb.learning.adapters import GymnasiumEnvironment

    if isinstance(env, GymnasiumEnvironment):
        raise ProblemError(f"run directory {run_dir} learnt in gymnasium environment {env.name!r}, which steps only "
                           "from the states its own reset gave, never from --x0; expected the run of an environment "
                           "that steps from any state (ProblemEnvironment or your own Environment)")


def _environment_grid(env, dt: float | None, horizon: float) -> tuple[float, float]:
    """(env.dt, the horizon rounded to a whole number (≥ 1) of env.dt): a model-free environment steps by its own dt
    only, so another --dt is refused (ProblemError)."""
    if dt is not None and not math.isclose(positive(dt, "--dt must be a finite number > 0"), env.dt, rel_tol=1e-9):
        raise ProblemError(f"--dt {dt:g} differs from the step of environment {env.name!r}, {env.dt:g}; a learned "
                           "run is stepped by its environment at its own dt (drop --dt)")
    return env.dt, max(1, round(horizon / env.dt)) * env.dt


def _terminal(problem):
    """g as x (n, d) -> (n,) of a finite-horizon problem (not a periodic one)."""
    if isinstance(problem, PeriodicProblem):
        return None

    def g(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return problem.terminal(torch.as_tensor(x, dtype=torch.float64))[:, 0].numpy()

    return g


def _vector(x: np.ndarray) -> str:
    return "[" + ", ".join(f"{v:g}" for v in np.asarray(x).ravel()) + "]"
