"""The occupation level of a periodic problem (hjb.solvers.periodic_level): E ∫_0^∞ e^{−ρs} R(X_s) ds along the closed
loop, against closed forms for a constant R and for R = x² on a stationary Ornstein–Uhlenbeck process."""
import numpy as np
import pytest
import torch

from hjb.geometry.box import Box
from hjb.pdes.periodic import PeriodicProblem
from hjb.solvers.periodic_level import occupation_level

SIGMA, RHO = 0.5, 0.2


def _ou():
    """dX = −X dt + σ dW (the action does nothing), τ = 1, ρ = 0.2."""
    return PeriodicProblem(name="ou", drift=lambda x, a, t: -x, diffusion=lambda x, a, t: torch.full((len(x), 1, 1), SIGMA, dtype=x.dtype),
                           reward=lambda x, a, t: torch.zeros(len(x), 1, dtype=x.dtype), discount=RHO, period=1.0,
                           domain=Box(-3.0, 3.0), action_dim=1)


def _zero_policy(xt):
    return torch.zeros(len(xt), 1, dtype=xt.dtype)


def _net(xt):
    return xt[:, :1] * 0.0


def _stationary_starts(n=4096, seed=0):
    rng = np.random.default_rng(seed)
    return np.c_[rng.normal(0.0, SIGMA / np.sqrt(2.0), size=n), rng.uniform(0.0, 1.0, size=n)]


def test_a_constant_residual_gives_its_value_over_rho():
    level = occupation_level(_ou(), lambda xt, V: torch.full((len(xt), 1), 0.3, dtype=xt.dtype), _net, _zero_policy,
                             _stationary_starts(), np.random.default_rng(1))
    assert level == pytest.approx(0.3 / RHO, rel=1e-3)  # ∫ e^{−ρs} ds by the midpoint rule plus the exact tail


def test_x_squared_on_the_stationary_ou_process():
    level = occupation_level(_ou(), lambda xt, V: xt[:, :1] ** 2, _net, _zero_policy, _stationary_starts(),
                             np.random.default_rng(2))
    exact = SIGMA**2 / 2 / RHO  # E[X²] = σ²/2 at every time from the stationary law
    assert level == pytest.approx(exact, rel=0.05)
    # Not the box's uniform average of x² (3 on [−3, 3]), which the uniform level shift would use.
    assert abs(level - 3.0 / RHO) > 10 * abs(level - exact)
