"""V's size on log boxes: the power-law profile fitted to the first policy's reward, the weighted level shift it
implies, and Merton's start, whose value must be finite for the profile (and the solve) to mean anything."""
import math

import numpy as np
import pytest
import torch
from scipy.integrate import quad

from hjb.nn.value_network import ValueNetwork
from hjb.pdes import Merton, seed_lqr
from hjb.pdes.residuals import evaluation_residual
from hjb.progress import Progress
from hjb.settings import SolverSettings
from hjb.solvers.discounted import DiscountedScheme
from hjb.solvers.evaluation import solve_level
from hjb.solvers.policies import InitialPolicy
from hjb.solvers.scales import power_profile, reward_scale

GRID = [(2.0, 0.05), (3.0, 0.04), (3.0, 0.06), (5.0, 0.04), (5.0, 0.06), (0.5, 0.1), (10.0, 0.02)]


@pytest.mark.parametrize("gamma", [0.5, 2.0, 3.0, 5.0])
def test_power_profile_recovers_the_reward_exponent(gamma):
    """Merton's reward (k x)^{1−γ}/(1−γ) at a constant k is the power law x^{1−γ}: the fit returns b = 1 − γ."""
    problem = Merton(gamma=gamma, discount=0.1 if gamma < 1 else 0.05)
    x = problem.domain.sample(256, "sobol", seed=0)
    power, centre = power_profile(problem, InitialPolicy(problem), x)
    np.testing.assert_allclose(power, [1.0 - gamma], atol=1e-10)
    np.testing.assert_allclose(centre, [math.sqrt(0.2 * 12.5)], rtol=1e-12)


def test_the_scheme_profiles_log_boxes_only_and_by_setting():
    merton = DiscountedScheme(Merton(gamma=3.0), SolverSettings(), Progress(1, enabled=False))
    merton.initial_policy()
    assert merton.critic.profiled and float(merton.critic.net.v_offset.detach()) == 0.0
    # the scale is V/m's size under the start: |r/(ρ m)|, constant for Merton
    r = Merton(gamma=3.0)
    x = merton.collocation
    _, scale = reward_scale(r, InitialPolicy(r), x, merton.critic)
    xt = torch.as_tensor(x)
    expected = np.abs(r.reward(xt, r.initial_policy(xt))[:, 0].numpy() / r.discount / merton.critic.profile(xt).numpy())
    assert scale == pytest.approx(expected.mean(), rel=1e-9) and np.ptp(expected) < 1e-9 * expected.mean()
    off = DiscountedScheme(Merton(gamma=3.0), SolverSettings(output_profile="none"), Progress(1, enabled=False))
    off.initial_policy()
    assert not off.critic.profiled
    lqr = DiscountedScheme(seed_lqr(), SolverSettings(), Progress(1, enabled=False))
    lqr.initial_policy()
    assert not lqr.critic.profiled


def test_weighted_level_shift_zeroes_the_profile_weighted_mean_residual():
    """With a profile m the fit weighs R/m: the shift δ = −Σ(R/m²)/(ρ Σ 1/m²) leaves Σ R/m² = 0."""
    problem = Merton(gamma=3.0)
    torch.manual_seed(0)
    critic = ValueNetwork(problem.domain, 16, 2)
    critic.set_profile(np.array([-2.0]), np.array([1.5]))
    critic.set_output_scale(0.0, 100.0)
    x = problem.domain.sample(64, "sobol", seed=0)
    policy = InitialPolicy(problem)
    xt = torch.as_tensor(x)
    weights = critic.profile(xt) ** -2

    def weighted_mean_residual():
        V, dV, d2V = critic.derivatives(xt)
        residual = evaluation_residual(problem, xt, V, dV, d2V, policy(xt))[:, 0]
        return float(torch.sum(weights * residual) / torch.sum(weights))

    before = weighted_mean_residual()
    shift = solve_level(problem, critic, policy, x)
    assert shift == pytest.approx(-before / problem.discount, rel=1e-12)
    assert abs(weighted_mean_residual()) < 1e-10 * abs(before)


@pytest.mark.parametrize(("gamma", "discount"), GRID)
def test_merton_start_has_a_finite_value(gamma, discount):
    """V^{α₀}(x) = ∫ e^{−ρt} r(X_t, α₀) dt along the riskless path X_t = x·e^{(r_f − k₀)t} (π = 0: no noise), by
    quadrature of the problem's own reward and drift, equals (k₀x)^{1−γ}/((1−γ)·k₀), finite; consuming at k = ρ
    instead has an infinite value at (γ, ρ) = (3, 0.06) and (5, 0.04)."""
    problem = Merton(gamma=gamma, discount=discount)
    x0 = torch.tensor([[1.0]], dtype=torch.float64)
    a0 = problem.initial_policy(x0)
    growth = float(problem.drift(x0, a0)[0, 0])  # (r_f − k₀)·1
    k0 = float(a0[0, 1])

    def integrand(t: float) -> float:
        x = torch.tensor([[math.exp(growth * t)]], dtype=torch.float64)
        return math.exp(-discount * t) * float(problem.reward(x, problem.initial_policy(x))[0, 0])

    value = quad(integrand, 0.0, math.inf, limit=200)[0]
    exact = k0 ** (1.0 - gamma) / ((1.0 - gamma) * k0)
    assert value == pytest.approx(exact, rel=1e-6)
    decay_at_rho = discount + (gamma - 1.0) * (0.03 - discount)
    assert (decay_at_rho <= 0) == ((gamma, discount) in [(3.0, 0.06), (5.0, 0.04), (5.0, 0.06)])
