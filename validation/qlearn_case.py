"""Validation of model-free learning (hjb.learning) on LQR problems against their closed forms, beside hjb's
model-based policy iteration on the same problem.

A case declares only facts of its problem: the StochasticLQR with its finite action bounds and domain, the
environment's time step dt, the temperature γ of an entropy-regularised problem, the gain region (states where the
unconstrained optimal action −K*x stays inside the bounds) and, optionally, the region where J is compared with V.
The learner runs at QLEARNING_SETTINGS (with temperature γ where the problem declares one), the model-based solver
at HJB_SETTINGS. Metrics:
    gain_rel_error = max_j |K̂_j/K*_j − 1|, K̂ (m, d) the least-squares fit a ≈ c − K̂x of the learned policy mean on
        the gain region's grid, K* = R⁻¹BᵀP from the discounted Riccati equation (the same at every γ);
    value_rel_l2 = ‖J − V‖₂/‖V‖₂ on the value region's grid, nothing removed (J's level is part of the answer),
        V the Riccati value (γ = 0) or V_γ (hjb.validation.entropy_lqr);
    variance_rel_error = max_j |σ̂²_j/(γR⁻¹)_jj − 1| (entropy-regularised problems only).
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hjb.errors import ProblemError, ShapeError, TrainingDivergedError
from hjb.geometry.box import Box
from hjb.settings import HJB_SETTINGS, QLEARNING_SETTINGS, QLearningSettings, SolverSettings
from hjb.validation.cases import check_tolerances, fit_seconds, passed
from hjb.validation.metrics import rel_l2

METRICS = ("gain_rel_error", "value_rel_l2", "variance_rel_error")
GRID_POINTS = 41  # per axis of the gain and value regions
# Adam steps × batch × (window + LEARN_OVERHEAD) × width × depth per second of one core, from qlearn_lqr1d (batch
# 2048, a 64 × 3 J) on one contended core of the 2-core machine: 20000 steps at window 10 took 1194 s, 400 steps at
# window 1 10.5 s; the exact solve's transitions × solve_window per second, from qlearn_lqr1d (10⁶ transitions,
# windows of 50: 70–85 s on a loaded core).
LEARN_RATE = 1.05e8
LEARN_OVERHEAD = 6
SOLVE_RATE = 6.25e5


def fitted_gain(x: np.ndarray, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(K̂ (m, d), c (m,)): the least-squares fit actions ≈ c − K̂x over states x (n, d), actions (n, m)."""
    x, actions = np.asarray(x, dtype=float), np.asarray(actions, dtype=float)
    if x.ndim != 2 or actions.ndim != 2 or len(x) != len(actions) or len(x) <= x.shape[1]:
        raise ShapeError(f"fitted_gain needs x (n, d) and actions (n, m) with n > d; got {x.shape}, {actions.shape}")
    design = np.column_stack([np.ones(len(x)), x])
    coefficients = np.linalg.lstsq(design, actions, rcond=None)[0]  # (1 + d, m)
    return -coefficients[1:].T, coefficients[0]


def gain_rel_errors(gain: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """|K̂_j/K*_j − 1| per component j of equally shaped gains, flattened (m·d,); K*_j must be non-zero."""
    gain, reference = np.asarray(gain, dtype=float), np.asarray(reference, dtype=float)
    if gain.shape != reference.shape:
        raise ShapeError(f"gains must have equal shapes; got {gain.shape} and {reference.shape}")
    if np.any(reference == 0):
        raise ProblemError(f"a relative gain error needs every K*_j ≠ 0; got K* = {reference.tolist()}")
    return np.abs(gain / reference - 1.0).ravel()


def variance_rel_error(variance: np.ndarray, covariance: np.ndarray) -> float:
    """max_j |σ̂²_j/Σ_jj − 1| for the learned variances (m,) and the reference covariance Σ (m, m)."""
    variance, reference = np.asarray(variance, dtype=float).ravel(), np.diag(np.atleast_2d(covariance)).astype(float)
    if variance.shape != reference.shape:
        raise ShapeError(f"variance has shape {variance.shape}; the reference covariance is {reference.size}×"
                         f"{reference.size}")
    return float(np.max(np.abs(variance / reference - 1.0)))


@dataclass(frozen=True)
class QLearnCase:
    """Learn J and the policy of make() (a StochasticLQR with finite action bounds) from settings.transitions
    transitions of its ProblemEnvironment at step dt, collected under uniform exploration from the seed; measure the
    gain on gain_region (a Box where −K*x stays inside the bounds, grid_points per axis), J against the closed form
    on value_region when given, and the policy's variance when the problem is entropy-regularised at `temperature`
    γ > 0; beside it, solve the same problem by model-based policy iteration and measure its gain the same way (not
    gated). `settings` and `model_settings` replace the solvers' defaults in tests only; the suites never pass them."""

    name: str
    make: Callable[[], Any]
    gain_region: Box
    dt: float = 0.01
    value_region: Box | None = None
    temperature: float | None = None
    tolerances: dict[str, float] = field(default_factory=dict)
    grid_points: int = GRID_POINTS
    settings: QLearningSettings | None = None
    model_settings: SolverSettings | None = None
    kind = "qlearn"

    def __post_init__(self):
        check_tolerances(self.name, self.tolerances, METRICS)
        if "value_rel_l2" in self.tolerances and self.value_region is None:
            raise ProblemError(f"validation case {self.name!r} has a value tolerance but no value_region")
        if "variance_rel_error" in self.tolerances and not self.temperature:
            raise ProblemError(f"validation case {self.name!r} has a variance tolerance but no temperature > 0")

    def learner_settings(self, seed: int | None = None) -> QLearningSettings:
        """QLEARNING_SETTINGS (or the test's override), at the case's temperature γ if it has one, at `seed`."""
        settings = self.settings or QLEARNING_SETTINGS
        if self.temperature:
            settings = settings.replace(temperature=self.temperature)
        return settings if seed is None else settings.replace(seed=seed)

    def cost(self) -> float:
        """≈ seconds on one core: the learner's steps × batch × (window + LEARN_OVERHEAD) × width × depth ÷
        LEARN_RATE, its exact solve's transitions × solve_window ÷ SOLVE_RATE, the model-based solve's fit_seconds."""
        s, m = self.learner_settings(), self.model_settings or HJB_SETTINGS
        learning = s.steps * s.batch * (s.window + LEARN_OVERHEAD) * s.width * s.depth / LEARN_RATE
        learning += s.transitions * s.solve_window / SOLVE_RATE
        return learning + fit_seconds(m.collocation, self.gain_region.dim, m.width, m)

    def describe(self) -> dict[str, Any]:
        """JSON-ready summary: name, kind, the problem's description, dt, temperature, regions, tolerances."""
        return {"name": self.name, "kind": self.kind, "problem": self.make().describe(), "dt": self.dt,
                "temperature": self.temperature, "gain_region": self.gain_region.to_dict(),
                "value_region": None if self.value_region is None else self.value_region.to_dict(),
                "tolerances": dict(self.tolerances)}

    def reference(self, problem):
        """The closed form of the problem's matrices: RiccatiSolution (value, policy, K), or EntropyLQR at γ."""
        from hjb.validation.entropy_lqr import EntropyLQR
        from hjb.validation.riccati import discounted_riccati

        p = problem.parameters
        if self.temperature:
            return EntropyLQR(p, self.temperature)  # from the matrices: π* is truncated by the bounds (see the case)
        return discounted_riccati(p["A"], p["B"], p["Q"], p["R"], p["D"], p["discount"])

    def measure(self, learned, problem) -> dict[str, Any]:
        """The metrics of a learned solution (value(x) (n,), policy(x) (n, m), policy_variance() (m,)) against the
        closed form: the gated METRICS and, beside them, K̂, K*, each component's error, the fit's offset, the
        learned and reference variances."""
        reference = self.reference(problem)
        K_star = _optimal_gain(reference)
        x = self.gain_region.grid(self.grid_points)
        gain, offset = fitted_gain(x, learned.policy(x))
        errors = gain_rel_errors(gain, K_star)
        metrics = {"gain_rel_error": float(np.max(errors)), "value_rel_l2": None, "variance_rel_error": None}
        if self.value_region is not None:
            xv = self.value_region.grid(self.grid_points)
            metrics["value_rel_l2"] = rel_l2(learned.value(xv), reference.value(xv))
        variance = np.asarray(learned.policy_variance(), dtype=float).ravel()
        covariance = reference.policy_covariance() if self.temperature else None
        if covariance is not None:
            metrics["variance_rel_error"] = variance_rel_error(variance, covariance)
        return {**metrics, "gain": gain.ravel().tolist(), "gain_reference": K_star.ravel().tolist(),
                "gain_rel_errors": errors.tolist(), "policy_offset": offset.tolist(), "variance": variance.tolist(),
                "variance_reference": None if covariance is None else np.diag(covariance).tolist()}

    def run(self, seed: int | None = None, progress: bool = True) -> dict:
        """Collect transitions and learn (never seeing the model or the closed form), measure; then solve the same
        problem by model-based policy iteration and measure its gain. A diverged learner is reported (status
        "diverged", error, passed False)."""
        from hjb.learning.adapters import ProblemEnvironment
        from hjb.learning.learner import learn
        from hjb.learning.transitions import collect_transitions

        settings = self.learner_settings(seed)
        problem = self.make()
        env = ProblemEnvironment(problem, dt=self.dt)
        start = time.perf_counter()
        transitions = collect_transitions(env, settings.transitions, np.random.default_rng(settings.seed),
                                          settings.episode_steps)
        head = {**self.describe(), "settings": settings.to_dict(), "environment": env.describe(),
                "transitions": len(transitions)}
        try:
            learned = learn(transitions, env.domain, env.action_low, env.action_high, env.discount, settings,
                            progress, self.name)
        except TrainingDivergedError as err:
            return {**head, "seconds": time.perf_counter() - start, "status": "diverged", "error": str(err),
                    "passed": False, **{key: None for key in METRICS}, **self._model_based(seed, progress)}
        seconds = time.perf_counter() - start
        measured = self.measure(learned, problem)
        metrics = {key: measured[key] for key in METRICS}
        return {**head, **measured, "learn_seconds": learned.history[-1]["seconds"], "seconds": seconds,
                "value_se": learned.history[-1].get("value_se"),
                "status": learned.status, "error": None, "passed": passed(metrics, self.tolerances),
                "history": learned.history, **self._model_based(seed, progress),
                "arrays": self._arrays(learned, problem)}

    def _model_based(self, seed: int | None, progress: bool) -> dict[str, Any]:
        """hjb's policy iteration (hjb.solvers.discounted.solve at HJB_SETTINGS) on a fresh make(): its gain fitted
        on the gain region, its error against K*, seconds, status and error (a divergence is reported, not raised)."""
        from hjb.progress import Progress
        from hjb.solvers.discounted import solve

        settings = self.model_settings or HJB_SETTINGS
        settings = settings if seed is None else settings.replace(seed=seed)
        problem, start, error = self.make(), time.perf_counter(), None
        try:
            solution = solve(problem, settings, Progress(settings.max_iterations, enabled=progress,
                                                         label=f"{self.name} model-based"))
        except TrainingDivergedError as err:
            solution, error = err.last_finite, str(err)
        out = {"model_based_seconds": time.perf_counter() - start, "model_based_error": error,
               "model_based_status": "diverged" if solution is None else solution.status,
               "model_based_gain": None, "model_based_gain_rel_error": None}
        if solution is not None:
            x = self.gain_region.grid(self.grid_points)
            gain = fitted_gain(x, solution.action(x))[0]
            out["model_based_gain"] = gain.ravel().tolist()
            out["model_based_gain_rel_error"] = float(np.max(gain_rel_errors(gain, _optimal_gain(self.reference(problem)))))
        return out

    def _arrays(self, learned, problem) -> dict[str, Any]:
        """For the report's figures: the learned policy mean and the closed form's −K*x on the gain region's plot
        grid, and J and V on the value region's when declared."""
        from hjb.io.plots import plot_grid

        reference = self.reference(problem)
        mean = reference.policy_mean if self.temperature else reference.policy
        grid = plot_grid(self.gain_region, names=problem.state_names)
        arrays = {"policy_grid": grid, "policy": learned.policy(grid.x), "policy_reference": mean(grid.x),
                  "action_names": list(problem.action_names)}
        if self.value_region is not None:
            values = plot_grid(self.value_region, names=problem.state_names)
            arrays.update(value_grid=values, value=learned.value(values.x), value_reference=reference.value(values.x))
        return arrays


def _optimal_gain(reference) -> np.ndarray:
    """K* (m, d) of a RiccatiSolution or an EntropyLQR (whose gain is the Riccati one)."""
    return getattr(reference, "riccati", reference).K
