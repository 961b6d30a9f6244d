"""Solver settings: one frozen dataclass per solver (discounted policy iteration, finite-horizon policy iteration,
Fokker–Planck), each with only the fields its solver uses, validated on construction, JSON round-trippable."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from hjb.errors import ProblemError, UnknownNameError
from hjb.geometry.sampling import METHODS

IMPROVEMENTS = ("auto", "greedy", "actor")
LEARNING_METHODS = ("q", "td")
PROFILES = ("auto", "none")
POSITIVE_INTS = ("transitions", "episode_steps", "window", "solve_window", "fixed_point_iterations", "batch", "steps", "checkpoints", "width", "depth", "collocation", "boundary_points", "anchors", "anchor_paths", "anchor_max_paths", "anchor_steps",
                 "anchor_max_steps", "actor_width", "actor_depth", "max_iterations", "probe_points")
NON_NEGATIVE_INTS = ("adam_steps_first", "adam_steps", "pde_lbfgs_steps", "anchored_adam_steps", "lbfgs_steps",
                     "actor_steps", "actor_lbfgs_steps", "min_iterations", "seed", "restarts")
POSITIVE = ("learning_rate", "anchor_weight", "actor_learning_rate", "value_tol", "policy_tol", "anchor_stderr",
            "anchor_tail", "anchor_chi2", "residual_tol", "fit_tol", "restart_tol", "orthogonality_z")
POSITIVE_OR_NONE = ("anchor_horizon", "anchor_dt")


def _check_int(name: str, value, least: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        kind = "positive" if least == 1 else "non-negative"
        raise ProblemError(f"setting {name} must be a {kind} integer; got {value!r}")


def _check_fields(settings) -> None:
    """Each field of `settings` against its rule (shared by every solver's settings)."""
    values = {f.name: getattr(settings, f.name) for f in dataclasses.fields(settings)}
    for name, value in values.items():
        if name in POSITIVE_INTS or name in NON_NEGATIVE_INTS:
            _check_int(name, value, 1 if name in POSITIVE_INTS else 0)
        elif name in POSITIVE and not value > 0:
            raise ProblemError(f"setting {name} must be > 0; got {value!r}")
        elif name in POSITIVE_OR_NONE and value is not None and not value > 0:
            raise ProblemError(f"setting {name} must be > 0 or None; got {value!r}")
    if "visited_fraction" in values and not 0 <= values["visited_fraction"] <= 1:
        raise ProblemError(f"setting visited_fraction must be in [0, 1]; got {values['visited_fraction']!r}")
    if "resample_fraction" in values and not 0 <= values["resample_fraction"] < 1:
        raise ProblemError(f"setting resample_fraction must be in [0, 1); got {values['resample_fraction']!r}")
    if values.get("sampling", METHODS[0]) not in METHODS:
        raise UnknownNameError(f"unknown sampling {values['sampling']!r}; expected one of {', '.join(METHODS)}")
    if values.get("improvement", IMPROVEMENTS[0]) not in IMPROVEMENTS:
        raise UnknownNameError(
            f"unknown improvement {values['improvement']!r}; expected one of {', '.join(IMPROVEMENTS)}"
        )
    if values.get("method", LEARNING_METHODS[0]) not in LEARNING_METHODS:
        raise UnknownNameError(f"unknown method {values['method']!r}; expected one of {', '.join(LEARNING_METHODS)}")
    if "temperature" in values and not (isinstance(values["temperature"], (int, float))
                                        and 0 <= values["temperature"] < float("inf")):
        raise ProblemError(f"setting temperature must be a finite number ≥ 0; got {values['temperature']!r}")
    if values.get("output_profile", PROFILES[0]) not in PROFILES:
        raise UnknownNameError(
            f"unknown output_profile {values['output_profile']!r}; expected one of {', '.join(PROFILES)}"
        )


class _Settings:
    """What every solver's settings offer: validation on construction, replace, to_dict and from_dict."""

    def __post_init__(self):
        _check_fields(self)

    def replace(self, **changes):
        """A copy with some fields changed (validated again); an unknown name raises, listing the valid ones."""
        _check_names(type(self), changes)
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """JSON-ready dict of every field."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict):
        """Inverse of to_dict; unknown keys raise UnknownNameError."""
        _check_names(cls, data)
        return cls(**data)


def _check_names(cls, data: dict) -> None:
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise UnknownNameError(f"unknown {cls.__name__} {unknown}; expected names from {sorted(names)}")


@dataclass(frozen=True)
class _FitSettings(_Settings):
    """What every PINN solver takes: a `width`×`depth` tanh network, `collocation` points (`sampling`), Adam
    (`adam_steps_first` steps at `learning_rate`) then at most `pde_lbfgs_steps` L-BFGS iterations, and a seed."""

    seed: int = 0
    width: int = 64
    depth: int = 3
    collocation: int = 256
    sampling: str = "sobol"
    adam_steps_first: int = 2000
    pde_lbfgs_steps: int = 1000
    learning_rate: float = 1e-3


@dataclass(frozen=True)
class _IterationSettings(_FitSettings):
    """What both policy-iteration solvers add: `adam_steps` Adam steps after the first iteration, `min_iterations`
    to `max_iterations` iterations, the tolerances `value_tol` and `residual_tol`, `probe_points` for diagnostics."""

    adam_steps: int = 300
    max_iterations: int = 12
    min_iterations: int = 2
    value_tol: float = 1e-3
    residual_tol: float = 5e-3
    probe_points: int = 1024


@dataclass(frozen=True)
class SolverSettings(_IterationSettings):
    """Every knob of discounted (infinite-horizon) policy iteration; the defaults serve every problem (no
    per-problem tuning).

    Networks: critic `width`×`depth` tanh FNN; actor `actor_width`×`actor_depth`. V's output (`output_profile`):
    auto, on a log box, V = offset + scale·m(x)·N with m the power law fitted to the first policy's |r|/ρ
    (hjb.solvers.scales.power_profile), and every residual, anchor error and change of V is then measured against
    V's local size scale·m(x) (a V spanning orders of magnitude, Merton's x^{1−γ}, is learnt to the same relative
    accuracy everywhere); on a linear box, or with none, m ≡ 1 and the size is V's spread over the box.
    Evaluation: `collocation` points (`sampling`); Adam on the PDE alone (`adam_steps_first` in the
    first PI iteration, `adam_steps` later, `learning_rate`; then at most `pde_lbfgs_steps` L-BFGS, which stops
    once the PDE residual rms on the collocation points, relative to ρ·V's scale, is at most `fit_tol`, or when
    400 iterations lower the loss by less than 2%). When that warm-started fit ends above `restart_tol` (relative
    residual rms), at most `restarts` times per solve, a freshly initialised network is fitted likewise (with
    `adam_steps_first`) and the better of the two kept. Then the
    Feynman–Kac anchors (hjb.solvers.anchors): `anchors` points, each the mean of at least `anchor_paths` paths,
    more (up to `anchor_max_paths`) for each anchor whose se exceeds `anchor_stderr`·√anchors × V's scale (so
    that the se of their mean is at most `anchor_stderr` × scale), a target loosened to ΔV/10 while V still
    changes by ΔV per iteration (hjb.solvers.anchors.anchor_precision);
    horizon `anchor_horizon`, by default `anchor_tail`/ρ (the bootstrapped tail weighs e^{−anchor_tail});
    step min(T/`anchor_steps`, 0.05/Lip(closed-loop drift), `anchor_dt` if set), at least T/`anchor_max_steps`;
    Richardson-corrected. When V_θ disagrees with the anchors beyond their standard errors (χ² per anchor,
    level removed, above `anchor_chi2`), an anchored phase imposes them at V's level (`anchored_adam_steps` Adam,
    at most `lbfgs_steps` L-BFGS iterations, stopping likewise, weight `anchor_weight` relative to the PDE
    residual): this pins what the evaluation PDE leaves free on a
    truncated box (Merton's x^λ± modes). Once V changed by less than `anchor_stderr`·√`anchors` (relative) in an
    iteration, its anchors also enter the next iteration's PDE fit, so that the PDE cannot slide V along those
    modes (hjb.solvers.anchored_evaluation.held). Finally the offset of V is set in closed form to the constant shift
    that zeroes the mean PDE residual (hjb.solvers.evaluation.solve_level), or, once V has settled (anchors at
    `anchor_stderr`) and the anchors' mean misfit is more than 3 of its standard errors from 0, to the level
    they call for (hjb.solvers.anchors.level_shift).
    Improvement: `improvement` = greedy (the problem's closed form), actor (ascent on Q: `actor_steps` Adam steps,
    then at most `actor_lbfgs_steps` L-BFGS iterations), or auto (greedy when the problem declares one).
    Stopping: the iterates have settled when the relative change of the value or of the policy on the probe set
    is below `value_tol` or `policy_tol`. The status is `converged` when they settled and the HJB residual rms on
    the probe set, relative to ρ·(V's spread there), is at most `residual_tol` and V agrees with the last anchors
    (χ² at most `anchor_chi2`: the residual cannot see what the PDE leaves free) and those anchors reached their
    standard-error target `anchor_stderr` within `anchor_max_paths` (else they pin V's free modes more loosely than asked: merton_gamma05's
    anchors at the 2048-path cap left its π 2% off while χ² and the residual passed); otherwise `not_converged`. After
    `min_iterations` the loop stops once converged, or once settled, agreeing with the anchors (final χ² at most
    `anchor_chi2`), with an HJB residual that improved by less than `residual_plateau` (a fraction), or at
    `max_iterations`. `resample_fraction` of the collocation set is redrawn
    ∝ |residual| each iteration.
    """

    resample_fraction: float = 0.0
    anchored_adam_steps: int = 100
    lbfgs_steps: int = 1000
    fit_tol: float = 2e-4
    restart_tol: float = 1e-2
    restarts: int = 1
    anchors: int = 12
    anchor_paths: int = 64
    anchor_max_paths: int = 2048
    anchor_stderr: float = 1e-3
    anchor_horizon: float | None = None
    anchor_tail: float = 5.0
    anchor_steps: int = 200
    anchor_dt: float | None = None
    anchor_max_steps: int = 2000
    anchor_weight: float = 0.1
    anchor_chi2: float = 4.0
    improvement: str = "auto"
    output_profile: str = "auto"
    actor_width: int = 32
    actor_depth: int = 2
    actor_steps: int = 1500
    actor_learning_rate: float = 1e-3
    actor_lbfgs_steps: int = 200
    policy_tol: float = 1e-3
    residual_plateau: float = 0.1


@dataclass(frozen=True)
class FiniteHorizonSettings(_IterationSettings):
    """Finite-horizon policy iteration (hjb.solvers.finite_horizon): a `width`×`depth` tanh network on box × [0, T],
    `collocation` points (`sampling`), `visited_fraction` of them from the process itself where the problem offers
    visited_points (a DiffusionModel); Adam (`adam_steps_first`, then `adam_steps`, `learning_rate`) and at most
    `pde_lbfgs_steps` L-BFGS per iteration; `min_iterations` to `max_iterations` iterations, stopping once V changes
    by less than `value_tol` on `probe_points` points; converged when also the HJB residual rms relative to ∂_t V's
    scale (a periodic problem's: ρ·V's spread) is at most `residual_tol`. The defaults are those of SolverSettings
    where both have a field, but for `collocation`: 1024 points over (x, t), not 256 (lqr_deterministic, 2-D, with 256:
    V 1.1e-2 and residual 1e-2 off on fresh points; with 1024: 8.4e-4, converged)."""

    collocation: int = 1024
    visited_fraction: float = 0.0


@dataclass(frozen=True)
class FokkerPlanckSettings(_FitSettings):
    """The Fokker–Planck fits (hjb.solvers.density, time-dependent and stationary): a `width`×`depth` tanh network,
    `collocation` points (`sampling`), `adam_steps_first` Adam steps (`learning_rate`) and at most `pde_lbfgs_steps`
    L-BFGS. Log-densities span O(10) with sharp modes: a wider network and more points than an HJB value needs."""

    width: int = 48
    collocation: int = 1024


@dataclass(frozen=True)
class ResidualSettings(_FitSettings):
    """A residual PDE's fit (hjb.solvers.residual): a `width`×`depth` tanh network, `collocation` interior points
    (`sampling`) and `boundary_points` on each condition's part, `adam_steps_first` Adam steps (`learning_rate`),
    then at most `pde_lbfgs_steps` L-BFGS. Converged when, on `probe_points` fresh points, the residual's rms is at most
    `residual_tol` times the size of the terms it balances (the largest rms of u and of each derivative it reads) and
    each condition's rms misfit at most `residual_tol` times the rms of u. L-BFGS is what brings a residual to 1e-3 of
    its terms (black_scholes_call at seed 1: 1.5e-3 after 1000 iterations, 9.3e-4 after 2433, where torch's L-BFGS
    stopped), hence 3000, three times the policy-iteration solvers' per-fit budget: a residual PDE is fitted once."""

    collocation: int = 1024
    boundary_points: int = 128
    probe_points: int = 1024
    residual_tol: float = 1e-3
    pde_lbfgs_steps: int = 3000


@dataclass(frozen=True)
class QLearningSettings(_Settings):
    """Model-free learning from transitions (hjb.learning): `transitions` collected from an Environment (uniform
    exploration on the action bounds, episodes of `episode_steps` steps; a transitions file brings its own), `method`
    q (continuous-time q-learning, Jia & Zhou 2023: q quadratic in a, normalised, policy ∝ exp(q/γ)) or td (the seed's
    critic–actor: TD target r·Δt + e^{−ρΔt}V̄(x'), Q = V + Δt·A(x, a), an actor ascending A), entropy `temperature`
    γ ≥ 0 (0: the greedy policy); the value J a `width`×`depth` tanh network, the policy's mean (the actor) an
    `actor_width`×`actor_depth` one. First `steps` Adam steps on minibatches of `batch` transitions at
    `learning_rate` (cosine decay to 0; J along `window`-step TD rates) learn the networks' features; then the
    orthogonality conditions are solved exactly on those features over `solve_window`-step windows (method q: up to
    `fixed_point_iterations` rounds of evaluation and improvement, hjb.learning.lstd; method td: J's last layer).
    `checkpoints` look at the policy on `probe_points` states of the domain. Converged when the policy's relative
    change over the last round (method q) or checkpoint (td) is at most `policy_tol` and the TD errors of held-out
    transitions are orthogonal to the test functions within `orthogonality_z` standard errors."""

    seed: int = 0
    method: str = "q"
    temperature: float = 0.0
    transitions: int = 1_000_000
    episode_steps: int = 250
    window: int = 10
    solve_window: int = 50
    width: int = 64
    depth: int = 3
    actor_width: int = 32
    actor_depth: int = 2
    steps: int = 2000
    batch: int = 2048
    learning_rate: float = 1e-3
    checkpoints: int = 10
    probe_points: int = 1024
    policy_tol: float = 1e-2
    orthogonality_z: float = 4.0
    fixed_point_iterations: int = 10


# One default per solver, serving every case of its kind: HJB_SETTINGS for discounted policy iteration,
# FINITE_HORIZON_SETTINGS for finite-horizon problems, DIFFUSION_SETTINGS for a diffusion model's log-density HJB
# (log-densities with sharp modes: wider networks, more collocation points, fewer and longer PI iterations than a
# value needs) and FOKKER_PLANCK_SETTINGS for the Fokker–Planck fits.
HJB_SETTINGS = SolverSettings()
FINITE_HORIZON_SETTINGS = FiniteHorizonSettings()
FOKKER_PLANCK_SETTINGS = FokkerPlanckSettings()
RESIDUAL_SETTINGS = ResidualSettings()
QLEARNING_SETTINGS = QLearningSettings()
DIFFUSION_SETTINGS = FiniteHorizonSettings(width=48, collocation=2048, adam_steps_first=1000, adam_steps=500,
                                           pde_lbfgs_steps=1000, max_iterations=4, value_tol=1e-4,
                                           visited_fraction=0.5)
AnySettings = SolverSettings | FiniteHorizonSettings | FokkerPlanckSettings | ResidualSettings


def settings_class(problem) -> type:
    """The settings class of the solver that takes `problem`: ResidualSettings for a ResidualPDE,
    FiniteHorizonSettings for a FiniteHorizonProblem, else SolverSettings."""
    from hjb.pdes.finite_horizon import FiniteHorizonProblem
    from hjb.pdes.residual_pde import ResidualPDE

    if isinstance(problem, ResidualPDE):
        return ResidualSettings
    return FiniteHorizonSettings if isinstance(problem, FiniteHorizonProblem) else SolverSettings


def default_settings(problem) -> AnySettings:
    """The defaults of the solver that takes `problem`: DIFFUSION_SETTINGS for a DiffusionModel, FINITE_HORIZON_SETTINGS
    for another FiniteHorizonProblem, RESIDUAL_SETTINGS for a ResidualPDE, else HJB_SETTINGS."""
    from hjb.pdes.diffusion_model import DiffusionModel

    if isinstance(problem, DiffusionModel):
        return DIFFUSION_SETTINGS
    if settings_class(problem) is ResidualSettings:
        return RESIDUAL_SETTINGS
    return FINITE_HORIZON_SETTINGS if settings_class(problem) is FiniteHorizonSettings else HJB_SETTINGS
