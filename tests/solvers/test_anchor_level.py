"""The anchors set V's level only where they disagree with it beyond their standard errors (hjb.solvers.anchors.level_shift).

Reference: the seed LQR under a ≡ 0 has V⁰ = −p x² − k with p = ½/(ρ + 2·0.5) = 0.5/1.1, k = σ²p/ρ = 0.9p
(ρV = r + fV' + ½σ²V'' with f = −x/2, σ = 0.3, r = −x²/2); a "critic" V⁰ + c stands in for a trained one.
"""
import numpy as np
import pytest
import torch

from hjb.pdes import seed_lqr
from hjb.settings import SolverSettings
from hjb.solvers.anchors import estimate_anchors, level_shift, mean_misfit
from hjb.solvers.policies import InitialPolicy

P = 0.5 / 1.1
K = 0.9 * P


class _ShiftedValue:
    """The exact V⁰ of the seed LQR under a ≡ 0, off by the constant `level`; the critic's interface."""

    scale, profiled = 1.0, False

    def __init__(self, level: float):
        self.level = level

    def value(self, x: torch.Tensor) -> torch.Tensor:
        return (-P * x[:, 0] ** 2 - K + self.level).to(torch.float64)

    def value_derivatives(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return -2 * P * x.to(torch.float64), torch.full((len(x), 1, 1), -2 * P, dtype=torch.float64)

    def magnitude(self, x: torch.Tensor) -> torch.Tensor:
        return torch.full((len(x),), self.scale, dtype=torch.float64)

    def single_precision(self):
        return self


def _shift(level: float, precision: float = SolverSettings().anchor_stderr) -> tuple[float, float]:
    """(level_shift, its standard error se(m̄)/(1 − e^{−ρT})) for the critic V⁰ + level, anchors at 3 points
    (their se target `precision` × V's scale)."""
    problem = seed_lqr()
    critic, s = _ShiftedValue(level), SolverSettings()
    x = problem.domain.spread_points(3, seed=1)
    probe = problem.domain.sample(128, "sobol", seed=2)
    anchors = estimate_anchors(problem, InitialPolicy(problem), critic, x, probe, s, 1, seed=0, precision=precision)
    before = mean_misfit(critic, anchors, s.anchor_stderr)
    # The anchors see (1 − e^{−ρT}) of a level error: T = 5/0.5 here, e^{−ρT} = e^{−1}.
    assert anchors.horizon == pytest.approx(10.0, rel=1e-6)
    return level_shift(before, before[0], anchors, problem.discount, precision, s), before[1] / (1 - np.exp(-1.0))


def test_a_level_error_the_anchors_resolve_is_removed():
    """V⁰ + 0.5: the shift is −0.5 within 4 of its standard errors (≈ 1e-3) and the time step's bias; without the
    1/(1 − e^{−ρT}) the anchors see only 0.32 of the 0.5."""
    shift, stderr = _shift(0.5)
    assert stderr < 2e-3
    assert abs(shift + 0.5) < 4 * stderr + 1e-3


def test_the_exact_level_is_left_alone():
    """V⁰ itself: the anchors' mean misfit is within 3 standard errors of 0, so the PDE's level stands (shift 0)."""
    shift, _ = _shift(0.0)
    assert shift == 0.0


def test_the_level_waits_until_v_has_settled():
    """V⁰ + 0.5 with anchors at the looser precision of an iteration in which V still moved by 10% (target 1e-2):
    the same level error, seen at many standard errors, is left to the PDE until V settles."""
    shift, stderr = _shift(0.5, precision=1e-2)
    assert 0.5 > 10 * stderr  # the anchors do see it
    assert shift == 0.0


def test_the_shift_accounts_for_what_v_moved_since_the_anchors():
    """m̄ = 0.02 at se 1e-3, T with e^{−ρT} = 1/2: c = 0.04 then; V moved by −0.01 since (m̄ now 0.01): shift −0.03."""
    from hjb.montecarlo.feynman_kac import MonteCarloEstimate
    from hjb.solvers.anchors import Anchors

    anchors = Anchors(x=np.zeros((1, 1)), estimate=MonteCarloEstimate(np.zeros(1), np.ones(1)),
                      horizon=np.log(2.0) / 0.1, dt=0.1, paths=8)
    s = SolverSettings()
    assert level_shift((0.02, 1e-3), 0.01, anchors, 0.1, s.anchor_stderr, s) == pytest.approx(-0.03, rel=1e-12)
    assert level_shift((0.002, 1e-3), 0.01, anchors, 0.1, s.anchor_stderr, s) == 0.0
