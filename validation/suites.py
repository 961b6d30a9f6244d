"""Validation suites: named lists of cases with closed forms (LQR via Riccati, Merton, Gaussian marginals and
Lyapunov laws, noised Gaussian mixtures); `quick` ⊂ `full`."""
from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import numpy as np

from hjb.errors import UnknownNameError
from hjb.geometry.box import Box
from hjb.geometry.spacetime import SpaceTime
from hjb.pdes.black_scholes import black_scholes_call
from hjb.pdes.data_laws import GaussianMixture
from hjb.pdes.double_integrator import double_integrator
from hjb.pdes.exit_time import exit_time
from hjb.pdes.heat import heat_product
from hjb.pdes.hopf_lax import hopf_lax
from hjb.pdes.lqr import StochasticLQR, coupled_lqr, seed_lqr
from hjb.pdes.merton import Merton
from hjb.pdes.noising import VPNoising
from hjb.pdes.timed_lqr import finite_horizon_lqr, periodic_lqr
from hjb.settings import (
    DIFFUSION_SETTINGS,
    FINITE_HORIZON_SETTINGS,
    FOKKER_PLANCK_SETTINGS,
    HJB_SETTINGS,
)
from hjb.validation.black_scholes import call_delta, call_price
from hjb.validation.bounded_lqr import bounded_lqr_solution
from hjb.validation.cases import TEST_POINTS, TEST_SEED, Case, ValidationCase
from hjb.validation.density_cases import FokkerPlanckCase, StationaryLawCase
from hjb.validation.diffusion_case import DiffusionCase
from hjb.validation.exit_time import exit_time_solution
from hjb.validation.finite_lqr import FiniteHorizonRiccati
from hjb.validation.heat import heat_product_solution
from hjb.validation.hjb_lqg_case import HJBLQGCase
from hjb.validation.hopf_lax import HopfLaxSolution
from hjb.validation.merton import merton_solution
from hjb.validation.periodic_lqr import PeriodicRiccati
from hjb.validation.qlearn_case import QLearnCase
from hjb.validation.residual_case import ResidualCase
from hjb.validation.riccati import lqr_solution
from hjb.validation.timed_case import AtSpaceTime, TimedCase

# Every case runs at its solver's defaults (hjb.settings): HJB_SETTINGS for the HJB cases, FOKKER_PLANCK_SETTINGS
# and DIFFUSION_SETTINGS for the density cases. A case declares only facts of its problem (box, action bounds,
# initial policy, noising schedule).
NOISING = VPNoising(0.5, 4.0, 2.0)  # β from 0.5 to 4 over T = 2: p_T within 1.2e-2 of N(0, I) in covariance


def ou_process() -> StochasticLQR:
    """dX = −X dt + 0.5 dW: the 1-D LQR (A = −1, D = 0.5) under its initial policy a ≡ 0."""
    return StochasticLQR(A=[[-1.0]], B=[[1.0]], Q=[[1.0]], R=[[1.0]], D=[[0.5]], discount=1.0, name="ou")


def mixture1d() -> GaussianMixture:
    """Two modes with unequal weights: 0.3·N(−1.5, 0.3²) + 0.7·N(1, 0.5²)."""
    return GaussianMixture([0.3, 0.7], [[-1.5], [1.0]], [[[0.3**2]], [[0.5**2]]])


def mixture2d() -> GaussianMixture:
    """Four modes at (±1.5, ±1.5), std 0.3, weights 0.1, 0.2, 0.3, 0.4."""
    means = [[-1.5, -1.5], [1.5, -1.5], [-1.5, 1.5], [1.5, 1.5]]
    return GaussianMixture([0.1, 0.2, 0.3, 0.4], means, [0.09 * np.eye(2)] * 4)


def lqr2d() -> StochasticLQR:
    """2-D LQR with coupled, non-diagonal A and B (2 controls), R = diag(0.2, 0.1), D = 0.3 I, ρ = 0.1 on [−2, 2]²."""
    return StochasticLQR(
        A=[[-0.5, 0.4], [-0.3, -0.8]], B=[[1.0, 0.2], [0.0, 0.7]], Q=np.eye(2), R=[[0.2, 0.0], [0.0, 0.1]],
        D=0.3 * np.eye(2), discount=0.1, name="lqr2d",
    )


def lqr5d() -> StochasticLQR:
    """5-D LQR: stable A = −diag(0.5..0.9) + 0.1 (super − sub diagonal), B (5, 2), Q = I, R = 0.1 I, D = 0.3 I, ρ = 0.1."""
    A = -np.diag([0.5, 0.6, 0.7, 0.8, 0.9]) + 0.1 * (np.eye(5, k=1) - np.eye(5, k=-1))
    B = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5], [0.5, -0.5], [0.2, 0.2]])
    return StochasticLQR(A=A, B=B, Q=np.eye(5), R=0.1 * np.eye(2), D=0.3 * np.eye(5), discount=0.1, name="lqr5d")


def lqr10d() -> StochasticLQR:
    """10-D LQR, 2 controls, every matrix coupled (coupled_lqr(10), seed 0), ρ = 0.1, on [−1, 1]^10."""
    return coupled_lqr(10)


def lqr100d() -> StochasticLQR:
    """100-D LQR, 2 controls, every matrix coupled (coupled_lqr(100), seed 0), ρ = 0.1, on [−1, 1]^100."""
    return coupled_lqr(100)


def merton_gamma05() -> Merton:
    """Merton with γ = 0.5 (V > 0) and ρ = 0.1: ρ − (1−γ)M = 0.1 − 0.5·0.0925 = 0.05375, π* = 2.5, k* = 0.1075.

    Not the seed's ρ = 0.05: there ρ − (1−γ)M = 0.00375 and the optimal wealth grows at m = 0.1475 > 2ρ, so
    e^{−ρt}(k*X_t)^{1/2} has infinite variance over an infinite horizon (no Feynman–Kac estimate converges),
    and only 8–17% of V on [0.5, 5] is earned while wealth is inside the box [0.2, 12.5] (the rest near
    e^{20}). At ρ = 0.1, m = 0.0475 < 2ρ and 69–85% of V is earned inside the box (the seed's γ = 2: 89–98%).
    """
    return Merton(gamma=0.5, discount=0.1, name="merton_gamma05")


def lqr1d_bounded() -> StochasticLQR:
    """The seed's 1-D LQR with |a| ≤ 1 (the unconstrained optimum −2.66x saturates for |x| > 0.376)."""
    lqr = seed_lqr()
    return StochasticLQR(lqr.A, lqr.B, lqr.Q, lqr.R, lqr.D, lqr.discount, name="lqr1d_bounded",
                         action_bounds=([-1.0], [1.0]))


def merton_capped() -> Merton:
    """The seed's Merton with the risky fraction capped at π ≤ 0.4 (< π* = 0.625) and no short sales."""
    return Merton(action_bounds=((0.0, 1e-4), (0.4, 2.0)), name="merton_capped")


def _without_greedy(problem):
    """The problem with its closed-form greedy action removed, so that the actor improves the policy."""
    problem.greedy_action, problem.name = None, f"{problem.name}_actor"
    return problem


def merton_actor() -> Merton:
    """The seed's Merton without greedy_action (actor ascent on Q)."""
    return _without_greedy(Merton())


def lqr2d_actor() -> StochasticLQR:
    """`lqr2d` without greedy_action (actor ascent on Q)."""
    return _without_greedy(lqr2d())


def _case(name, factory, reference, box, points, **tolerances) -> ValidationCase:
    return ValidationCase(name, factory, HJB_SETTINGS, reference, box, points, tolerances)


def lqr1d_within(bound: float, name: str = "lqr1d") -> StochasticLQR:
    """The seed's 1-D LQR with |a| ≤ bound: the finite bounds the model-free learners explore on."""
    lqr = seed_lqr()
    return StochasticLQR(lqr.A, lqr.B, lqr.Q, lqr.R, lqr.D, lqr.discount, name=name,
                         action_bounds=([-bound], [bound]))


def _qlearn_lqr1d() -> QLearnCase:
    """The seed LQR (K* = 2.65975) with |a| ≤ 10: −K*x reaches the bound only at |x| ≥ 3.76, and from [−2, 2] the
    closed loop contracts to 0 (rate 3.16, stationary std 0.12), so the bounded optimum is the Riccati one there up
    to a negligible chance; the gain and J (level included) are measured on [−2, 2]. The environment steps by
    Δt = 0.002: the learner finds the sampled chain's optimum, whose gain is Δt·B²P/R ≈ 0.5% below K* (2.7% at 0.01)."""
    return QLearnCase("qlearn_lqr1d", partial(lqr1d_within, 10.0, "qlearn_lqr1d"), Box(-2.0, 2.0), dt=0.002,
                      value_region=Box(-2.0, 2.0), tolerances={"gain_rel_error": 2e-2, "value_rel_l2": 5e-2})


def _qlearn_double_integrator() -> QLearnCase:
    """The double integrator (hjb.pdes.double_integrator) with |a| ≤ 2, learnt on [−0.25, 0.25]², the region where
    its closed form holds: from every state there the noise-free closed loop under −K*s keeps |K*s(t)| ≤ 1.73 < 2 for
    all t (the bound is never reached), and the noise 0.05 keeps paths near 0 (the closed loop's stationary std of K*s
    is 0.077), so the bounded optimum is the Riccati one, K* = (2.96663, 3.94196), up to a negligible chance. The gain
    is gated on the whole box; J against the Riccati V there is reported. On [−2, 2]², where the bound binds over most
    of the box (|K*s| reaches 13.8), the learner does not settle (README, *Model-free learning*)."""
    box = Box([-0.25, -0.25], [0.25, 0.25])
    return QLearnCase("qlearn_double_integrator", partial(double_integrator, 2.0, box), box, dt=0.002,
                      value_region=box, tolerances={"gain_rel_error": 2e-2})


def _qlearn_entropy_lqr() -> QLearnCase:
    """The seed LQR at temperature γ = 0.1 with |a| ≤ 10: π* = N(−K*x, γ/R) = N(−K*x, 1), the same K* = 2.65975 as
    without entropy (hjb.validation.entropy_lqr). Its truncation at ±10 is negligible on [−2, 2]: |K*x| ≤ 5.32 there,
    so each bound is at least 4.68 standard deviations from the mean (mass beyond it 1.4e-6, the variance moved by
    3.3e-5 relative, the mean by 7e-6). The variance and the mean gain are gated; J against V_γ on [−2, 2] is reported."""
    return QLearnCase("qlearn_entropy_lqr", partial(lqr1d_within, 10.0, "qlearn_entropy_lqr"), Box(-2.0, 2.0),
                      dt=0.002, value_region=Box(-2.0, 2.0), temperature=0.1,
                      tolerances={"gain_rel_error": 2e-2, "variance_rel_error": 5e-2})


def _ou_fokker_planck() -> FokkerPlanckCase:
    return FokkerPlanckCase("ou_fokker_planck", ou_process, (1.0,), ((0.25**2,),), Box(-2.0, 3.0), 1.0,
                            (0.25, 0.5, 1.0), FOKKER_PLANCK_SETTINGS, 401,
                            {"density_rel_l2": 1e-2, "mass_error": 1e-2, "negative_density_ratio": 1e-3})


def _mixture1d(baselines: bool) -> DiffusionCase:
    # DSM gets 2·10⁴ steps (≈ 32 s); benchmarks/diffusion_vs_dsm.py --dsm-steps 40000 gives it more. The baselines
    # (DSM and the PINN from samples, whose sampling alone takes ≈ 30 s a set) run in `full` only: `quick` checks
    # hjb's own solvers against closed forms within its 5 minutes (with DSM it took 314–321 s on 2 cores).
    return DiffusionCase("mixture1d", mixture1d, NOISING, DIFFUSION_SETTINGS, 201, dsm_steps=20000,
                         baselines=baselines,
                         tolerances={"log_density_rel_l2": 2e-2, "score_rel_l2": 5e-2, "energy_ratio": 2.0,
                                     "identity_abs_z": 3.0})


HEAT = 5, 0.2, 0.1  # d, k, T: u decays by e^{−kdπ²T} = e^{−0.99} over the horizon
BLACK_SCHOLES = 1.0, 0.05, 0.2, 1.0, 3.0  # K, r, σ, T, S_max


def _heat_points() -> np.ndarray:
    d, _, T = HEAT
    return SpaceTime(Box([0.0] * d, [1.0] * d), T).sample(TEST_POINTS, "uniform", seed=TEST_SEED)


def _heat_line() -> np.ndarray:
    """The diagonal x_0 = … = x_4 = s at t = T/2."""
    d, _, T = HEAT
    s = np.linspace(0.0, 1.0, 101)
    return np.column_stack([s] * d + [np.full_like(s, T / 2)])


def _spots_today() -> np.ndarray:
    """201 spots S ∈ [0.5K, 1.5K] at t = 0."""
    K = BLACK_SCHOLES[0]
    S = np.linspace(0.5 * K, 1.5 * K, 201)
    return np.column_stack([S, np.zeros_like(S)])


def _call(kind, z: np.ndarray) -> np.ndarray:
    K, r, sigma, T, _ = BLACK_SCHOLES
    return kind(z[:, 0], T - z[:, 1], K, r, sigma)


def _heat5d() -> ResidualCase:
    """Initial and boundary conditions built in by the output transform (hjb.pdes.heat); 10⁴ uniform points."""
    d, k, T = HEAT
    return ResidualCase("heat5d", partial(heat_product, d, k, T), partial(heat_product_solution, dim=d, diffusivity=k),
                        _heat_points, {"rel_l2": 1e-3}, line=_heat_line, line_label="x0 = … = x4 (t = T/2)")


def _black_scholes_call() -> ResidualCase:
    """The payoff built in by the output transform (hjb.pdes.black_scholes); 201 spots S ∈ [0.5K, 1.5K] at t = 0."""
    return ResidualCase("black_scholes_call", partial(black_scholes_call, *BLACK_SCHOLES), partial(_call, call_price),
                        _spots_today, {"rel_l2": 1e-3, "derivative_rel_l2": 5e-3},
                        derivative=(0, partial(_call, call_delta)), line=_spots_today, line_label="S (t = 0)")


# The periodic LQR: the seed's scalar LQR with q(t) = 1 + 0.5 sin(2πt), ρ = 0.1 (hjb.pdes.timed_lqr.periodic_lqr).
PERIODIC_LQR = dict(A=[[-0.5]], B=[[1.0]], Q=[[1.0]], R=[[0.1]], D=[[0.3]], discount=0.1, period=1.0, amplitude=0.5)
# A coupled 2-D LQR with Σ = 0 over T = 1 (hjb.pdes.timed_lqr.finite_horizon_lqr).
DETERMINISTIC_LQR = dict(A=[[-0.5, 0.4], [-0.3, -0.8]], B=[[1.0, 0.2], [0.0, 0.7]], Q=np.eye(2), R=np.diag([0.2, 0.1]),
                         D=np.zeros((2, 1)), G=[[2.0, 0.5], [0.5, 1.0]], horizon=1.0)
HOPF_LAX = 2, 1.0, 1.0, 2.0  # d, T, speed c, half-width of the box


def _space_time_points(dim: int, horizon: float, half_width: float) -> np.ndarray:
    """TEST_POINTS uniform points of [−h, h]^d × [0, T] (n, d + 1)."""
    return SpaceTime(Box([-half_width] * dim, [half_width] * dim), horizon).sample(TEST_POINTS, "uniform",
                                                                                   seed=TEST_SEED)


def _x0_line(dim: int, half_width: float, t: float = 0.0) -> np.ndarray:
    """201 points on the x0 axis (other coordinates 0) at time t (n, d + 1)."""
    x = np.zeros((201, dim + 1))
    x[:, 0], x[:, -1] = np.linspace(-half_width, half_width, 201), t
    return x


def _periodic_reference(problem) -> PeriodicRiccati:
    p = PERIODIC_LQR
    return PeriodicRiccati(p["A"], p["B"], p["Q"], p["R"], p["D"], p["discount"], p["period"], p["amplitude"])


def _deterministic_reference(problem) -> AtSpaceTime:
    p = DETERMINISTIC_LQR
    return AtSpaceTime(FiniteHorizonRiccati(p["A"], p["B"], p["Q"], p["R"], p["D"], p["G"], p["horizon"]))


def _hopf_lax_reference(problem) -> HopfLaxSolution:
    _, T, speed, _ = HOPF_LAX
    return HopfLaxSolution(T, speed)


def _timed_cases() -> list[Case]:
    d, T, speed, h = HOPF_LAX
    return [
        TimedCase("lqr_periodic", partial(periodic_lqr, **PERIODIC_LQR, name="lqr_periodic"), _periodic_reference,
                  partial(_space_time_points, 1, 1.0, 2.0), {"value_rel_l2": 2e-3, "policy_rel_l2": 1e-2},
                  line=partial(_x0_line, 1, 2.0), line_label="x (t = 0)"),
        TimedCase("lqr_deterministic", partial(finite_horizon_lqr, **DETERMINISTIC_LQR, name="lqr_deterministic"),
                  _deterministic_reference, partial(_space_time_points, 2, 1.0, 2.0),
                  {"value_rel_l2": 2e-3, "policy_rel_l2": 1e-2}, line=partial(_x0_line, 2, 2.0),
                  line_label="x0 (x1 = 0, t = 0)"),
        # V is C¹ but not C² on |x| = T − t: band_max_error is measured within 0.1 of that sphere.
        TimedCase("hopf_lax", partial(hopf_lax, d, T, speed, h), _hopf_lax_reference,
                  partial(_space_time_points, d, T, h), {"value_rel_l2": 1e-2},
                  band=HopfLaxSolution(T, speed).near_kink, line=partial(_x0_line, d, h), line_label="x0 (x1 = 0, t = 0)"),
    ]


def _quick(baselines: bool = False) -> list[Case]:
    return [
        _case("lqr1d", seed_lqr, lqr_solution, Box(-2.0, 2.0), 201, value_rel_l2=2e-3, policy_rel_l2=5e-3),
        _case("merton", Merton, merton_solution, Box(0.5, 5.0), 201, value_rel_l2=1e-2, policy_rel_l2=1e-2),
        _case("lqr2d", lqr2d, lqr_solution, Box([-2.0, -2.0], [2.0, 2.0]), 41, value_rel_l2=5e-3, policy_rel_l2=1e-2),
        # The quickest of the cases with bounded actions (≈ 45–60 s; lqr1d_bounded ≈ 95–115 s runs in `full`).
        _case("merton_capped", merton_capped, merton_solution, Box(0.5, 5.0), 201, value_rel_l2=1e-2, policy_rel_l2=1e-2),
        _ou_fokker_planck(),
        _mixture1d(baselines),
        # The quickest of the issue-13 cases (a residual PDE, one fit): ≈ 2½ minutes on one core.
        _black_scholes_call(),
        # The quickest model-free case (issue 14): ≈ 3 minutes of learning and 3 of model-based PI beside it.
        _qlearn_lqr1d(),
    ]


def _full() -> list[Case]:
    return _quick(baselines=True) + [
        _case("lqr5d", lqr5d, lqr_solution, Box([-2.0] * 5, [2.0] * 5), 5, value_rel_l2=1e-2, policy_rel_l2=2e-2),
        # Every matrix coupled (hjb.pdes.lqr.coupled_lqr); measured on 10⁴ uniform points of the box.
        _case("lqr10d", lqr10d, lqr_solution, Box([-1.0] * 10, [1.0] * 10), 0, value_rel_l2=1e-2, policy_rel_l2=2e-2),
        _case("lqr100d", lqr100d, lqr_solution, Box([-1.0] * 100, [1.0] * 100), 0,
              value_rel_l2=1e-2, policy_rel_l2=2e-2),
        _case("merton_gamma05", merton_gamma05, merton_solution, Box(0.5, 5.0), 201,
              value_rel_l2=1e-2, policy_rel_l2=1e-2),
        _case("lqr1d_bounded", lqr1d_bounded, bounded_lqr_solution, Box(-2.0, 2.0), 201,
              value_rel_l2=2e-3, policy_rel_l2=1e-2),
        _case("merton_actor", merton_actor, merton_solution, Box(0.5, 5.0), 201, value_rel_l2=1e-2, policy_rel_l2=1e-2),
        _case("lqr2d_actor", lqr2d_actor, lqr_solution, Box([-2.0, -2.0], [2.0, 2.0]), 41,
              value_rel_l2=2e-3, policy_rel_l2=1e-2),
        # The stationary law is ≈ N(0, 0.14² I): the box spans ±4.3 standard deviations.
        StationaryLawCase("lqr2d_stationary_law", lqr2d, HJB_SETTINGS, FOKKER_PLANCK_SETTINGS,
                          Box([-0.6, -0.6], [0.6, 0.6]), 41,
                          {"density_rel_l2": 2e-2, "mass_error": 1e-2, "negative_density_ratio": 1e-3}),
        # DeepBSDE's HJB-LQ in 100-D at λ = 1 and 10, from X_0 = U·Z (where u(0, ·) is measured).
        HJBLQGCase("hjb_lqg100d", 100, (1.0, 10.0), FINITE_HORIZON_SETTINGS, {"u00_rel_error": 1e-3}),
        # dX = σ dW stopped at ±L (boundary "exit", V = 0 there): V = (1 − cosh κx/cosh κL)/ρ; the one action is fixed.
        _case("exit_time", exit_time, exit_time_solution, Box(-1.0, 1.0), 201, value_rel_l2=2e-3),
        DiffusionCase("mixture2d", mixture2d, NOISING, DIFFUSION_SETTINGS, 41, identity_x=(0.5, 0.5),
                      tolerances={"log_density_rel_l2": 2e-2, "score_rel_l2": 5e-2, "energy_ratio": 2.0,
                                  "identity_abs_z": 3.0}),
    ] + [_heat5d()] + _timed_cases() + [_qlearn_double_integrator(), _qlearn_entropy_lqr()]


SUITES: dict[str, list[Case]] = {"quick": _quick(), "full": _full()}


def get_suite(name: str, only: Sequence[str] | None = None) -> list[Case]:
    """The cases of suite `name` (those named in `only`, in the suite's order, if given); UnknownNameError naming the
    valid suites, or the suite's cases, otherwise."""
    if name not in SUITES:
        raise UnknownNameError(f"unknown validation suite {name!r}; expected one of {', '.join(SUITES)}")
    if only is None:
        return SUITES[name]
    names = [case.name for case in SUITES[name]]
    unknown = [case for case in only if case not in names]
    if unknown:
        raise UnknownNameError(f"unknown case {unknown[0]!r} in suite {name!r}; expected one of {', '.join(names)}")
    return [case for case in SUITES[name] if case.name in only]
