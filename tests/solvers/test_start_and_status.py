"""The start is checked before any training: non-finite coefficients and singular rewards are refused in one line;
and the status rule: `converged` only with settled iterates and a small HJB residual."""
import math

import numpy as np
import pytest
import torch

import hjb.solvers.anchored_evaluation as anchored_evaluation
import hjb.solvers.stopping as stopping
from hjb import ControlProblem, Merton, solve
from hjb.errors import ProblemError
from hjb.geometry import Box
from hjb.pdes import seed_lqr
from hjb.settings import SolverSettings
from hjb.solvers.admissibility import check_start, singular_ratio

R_F, MU, SIGMA, GAMMA, RHO = 0.03, 0.08, 0.20, 3.0, 0.05


def plain_merton(initial_policy=None) -> ControlProblem:
    """Merton with γ = 3 from plain functions, as a user writes it from the README (no greedy_action)."""

    def drift(x, a):
        return (R_F + a[:, :1] * (MU - R_F) - a[:, 1:]) * x

    def diffusion(x, a):
        return (a[:, :1] * SIGMA * x).unsqueeze(-1)

    def reward(x, a):
        return (a[:, 1:] * x).clamp(min=1e-8).pow(1 - GAMMA) / (1 - GAMMA)

    return ControlProblem(name="plain_merton", drift=drift, diffusion=diffusion, reward=reward, discount=RHO,
                          domain=Box(0.2, 12.5, scale="log"), action_dim=2, initial_policy=initial_policy)


@pytest.fixture
def no_training(monkeypatch):
    """Any training call fails the test: the checks must come first."""
    def boom(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(anchored_evaluation, "evaluate_policy", boom)


def test_zero_consumption_start_is_refused_before_training(no_training):
    with pytest.raises(ProblemError, match="initial_policy") as err:
        solve(plain_merton(), progress=False)
    assert "\n" not in str(err.value) and "a ≡ 0" in str(err.value)


def test_admissible_start_passes_and_its_ratio_is_small():
    problem = plain_merton(lambda x: torch.cat([torch.zeros_like(x), torch.full_like(x, 0.05)], dim=1))
    x = problem.domain.sample(64, "sobol", seed=0)
    check_start(problem, x)
    xt = torch.as_tensor(x)
    assert singular_ratio(problem, xt, problem.initial_policy(xt)) < 1e3
    # The default start consumes c = 1e-8 (the reward's clamp) where k = 0.01 (a 1% move) is the best nearby action:
    # |r| ratio (1e-8)^{−2} / (0.01x)^{−2} = 1e12·x², median over the points (the lower middle one, as torch's).
    zero = torch.zeros(len(x), 2, dtype=torch.float64)
    expected = np.sort(1e12 * x[:, 0] ** 2)[(len(x) - 1) // 2]
    assert singular_ratio(plain_merton(), xt, zero) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("problem", [seed_lqr(), Merton(), Merton(gamma=5.0, discount=0.04), Merton(gamma=10.0)],
                         ids=["lqr", "merton", "merton_gamma5", "merton_gamma10"])
def test_built_in_starts_are_admissible(problem):
    """Merton's start (π = 0, k₀) passes at any γ: its steep reward is not a singular one (γ = 5 was refused)."""
    check_start(problem, problem.domain.sample(128, "sobol", seed=0))


def test_nan_reward_on_part_of_the_box_names_reward_and_a_point(no_training):
    lqr = seed_lqr()

    def reward(x, a):
        r = -0.5 * (x**2 + 0.1 * a**2)
        return torch.where(x > 1.0, torch.full_like(r, math.nan), r)

    problem = ControlProblem(name="nan_reward", drift=lqr.drift, diffusion=lqr.diffusion, reward=reward,
                             discount=0.1, domain=lqr.domain, action_dim=1)
    with pytest.raises(ProblemError, match=r"reward is not finite .* at x = \[") as err:
        solve(problem, progress=False)
    point = float(str(err.value).split("x = [")[1].split("]")[0])
    assert point > 1.0


def test_infinite_drift_is_named(no_training):
    lqr = seed_lqr()
    problem = ControlProblem(name="inf_drift", drift=lambda x, a: x / (x + 1.0), diffusion=lqr.diffusion,
                             reward=lqr.reward, discount=0.1, domain=Box(-2.0, 0.0), action_dim=1)
    x = np.array([[-1.0], [-0.5]])
    with pytest.raises(ProblemError, match=r"drift is not finite .* x = \[-1\]"):
        check_start(problem, x)


def record(rms: float, change: float, before_rms: float = 1.0) -> list[dict]:
    return [{"hjb_residual_rms": before_rms, "value_change": math.inf, "policy_change": math.inf},
            {"hjb_residual_rms": rms, "value_change": change, "policy_change": change}]


def test_status_needs_settled_iterates_and_a_small_residual():
    s = SolverSettings()
    settled, small, large = 0.1 * s.value_tol, 0.5 * s.residual_tol, 5 * s.residual_tol
    assert stopping.status(record(small, settled, before_rms=10 * small), s) == "converged"
    # Settled but the residual is above the tolerance: not converged (the capped-Merton failure mode).
    assert stopping.status(record(large, settled, before_rms=large), s) == "not_converged"
    # A small residual with iterates still moving, or a first iteration (no change measured): not converged.
    assert stopping.status(record(small, 10 * s.value_tol), s) == "not_converged"
    # Settled with a small residual, but V still disagrees with its Feynman–Kac anchors: a free mode, not converged.
    disagreeing = record(small, settled)
    disagreeing[-1]["anchor_chi2_final"] = 2 * s.anchor_chi2
    assert stopping.status(disagreeing, s) == "not_converged"
    # Agreeing anchors that stopped at the path cap short of their standard-error target: too loose to say converged.
    capped = record(small, settled)
    capped[-1].update(anchor_chi2_final=0.5 * s.anchor_chi2, anchor_capped=True)
    assert stopping.status(capped, s) == "not_converged"
    capped[-1]["anchor_capped"] = False
    assert stopping.status(capped, s) == "converged"
    # Anchors sized to a looser target while V was still moving (anchor_precision): not converged on them.
    capped[-1]["anchor_precision"] = 3 * s.anchor_stderr
    assert stopping.status(capped, s) == "not_converged"
    first = [{"hjb_residual_rms": small, "value_change": math.inf, "policy_change": math.inf}]
    assert stopping.status(first, s) == "not_converged"


def test_the_loop_stops_when_converged_or_settled_on_a_plateau():
    s = SolverSettings()
    settled, large = 0.1 * s.value_tol, 5 * s.residual_tol
    assert stopping.done(record(0.5 * s.residual_tol, settled, before_rms=1.0), s)
    assert stopping.done(record(large, settled, before_rms=1.01 * large), s)  # plateaued: stop, not converged
    assert not stopping.done(record(large, settled, before_rms=2 * large), s)  # still improving: go on
    assert not stopping.done(record(large, 10 * s.value_tol, before_rms=large), s)
    loose = record(large, settled, before_rms=1.01 * large)
    loose[-1]["anchor_precision"] = 3 * s.anchor_stderr  # a plateau judged by loose anchors: one more iteration
    assert not stopping.done(loose, s)


def test_finite_horizon_status_needs_a_small_residual_relative_to_the_rate():
    from hjb.solvers.finite_horizon import finite_horizon_status

    s = SolverSettings()
    first = {"value_change": math.inf, "hjb_residual_relative": 0.0}

    def last(change, relative):
        return [first, {"value_change": change, "hjb_residual_relative": relative}]

    assert finite_horizon_status(last(0.1 * s.value_tol, 0.5 * s.residual_tol), s) == "converged"
    assert finite_horizon_status(last(0.1 * s.value_tol, 5 * s.residual_tol), s) == "not_converged"
    assert finite_horizon_status(last(10 * s.value_tol, 0.5 * s.residual_tol), s) == "not_converged"
    assert finite_horizon_status([first], s) == "not_converged"
