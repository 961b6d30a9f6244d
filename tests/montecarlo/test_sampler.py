"""Reverse-time sampler and verification identity, run with the EXACT score of a Gaussian mixture
(validation-only closed form) so that they test the Monte Carlo machinery itself."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from hjb.errors import ProblemError
from hjb.montecarlo.sampler import sample, verification_identity
from hjb.pdes.data_laws import GaussianMixture
from hjb.pdes.diffusion_model import DiffusionModel
from hjb.pdes.noising import VPNoising

DATA = GaussianMixture([0.3, 0.7], [[-1.5], [1.0]], [[[0.3**2]], [[0.5**2]]])
NOISING = VPNoising(0.5, 4.0, 2.0)
MODEL = DiffusionModel(DATA, NOISING)


def _law(t: float) -> GaussianMixture:
    return DATA.noised(float(NOISING.alpha(NOISING.horizon - t)))


def exact_control(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """u* = σ(t)·∇ log p_{T−t}(x); every row shares one t."""
    xg = x.detach().clone().requires_grad_(True)
    score = torch.autograd.grad(_law(float(t[0, 0])).log_density(xg).sum(), xg)[0]
    return MODEL.sigma(t) * score


def exact_value(xt: np.ndarray) -> np.ndarray:
    """V(x, t) = −log p_{T−t}(x) (n,) for xt (n, 2)."""
    return np.array([-float(_law(t).log_density(torch.tensor([[x]]))) for x, t in xt])


def test_exact_score_sampler_reproduces_the_data_law():
    rng = np.random.default_rng(0)
    y = sample(MODEL, exact_control, 4000, rng, steps=400)[:, 0]
    mean, var = 0.3 * -1.5 + 0.7 * 1.0, 0.3 * (0.09 + 2.25) + 0.7 * (0.25 + 1.0) - (0.3 * -1.5 + 0.7) ** 2
    assert abs(y.mean() - mean) < 4 * np.sqrt(var / len(y))
    assert abs(np.mean(y < -0.4) - 0.3) < 4 * np.sqrt(0.21 / len(y))  # the weight of the left mode


@pytest.mark.parametrize("amplitude", [0.0, 1.5])
def test_verification_identity_with_the_exact_solution(amplitude):
    def perturbation(x, t):
        return amplitude * torch.sin(x)

    check = verification_identity(MODEL, exact_value, exact_control, perturbation, np.array([0.5]), 0.5,
                                  paths=2000, rng=np.random.default_rng(1), steps=300)
    assert abs(check.z) < 3
    if amplitude:
        assert check.gap > 5 * check.stderr  # the perturbation costs measurably more than V
        assert check.cost > check.value + 3 * check.cost_stderr


def test_bad_counts():
    with pytest.raises(ProblemError, match="n must be a positive integer; got 0"):
        sample(MODEL, exact_control, 0, np.random.default_rng(0))


def test_learned_control_on_invariant_data_samples_the_data():
    """N(0, 1) data is invariant under VP noising, so log p_{T−t} = log N(0, 1) at every t: the solver's
    W stays the terminal condition and its control must sample N(0, 1) back."""
    from hjb.montecarlo.sampler import learned_control
    from hjb.settings import FiniteHorizonSettings
    from hjb.solvers.finite_horizon import solve_finite_horizon

    model = DiffusionModel(GaussianMixture([1.0], [[0.0]], [[[1.0]]]), VPNoising(0.5, 2.0, 1.0))
    settings = FiniteHorizonSettings(width=8, depth=1, collocation=64, adam_steps_first=50, pde_lbfgs_steps=0, max_iterations=1)
    solution = solve_finite_horizon(model, settings, progress=False)
    y = sample(model, learned_control(solution), 4000, np.random.default_rng(2), steps=100)[:, 0]
    assert abs(y.mean()) < 4 * np.sqrt(1 / len(y))
    assert abs(y.var() - 1.0) < 4 * np.sqrt(2 / len(y))


def test_learned_control_in_float32_agrees_with_the_float64_network():
    """The sampler's control runs N_θ in float32 (ValueNetwork.single_precision): on a network of random weights,
    u = Σ(t)∇W agrees with the float64 autograd gradient to float32 precision and comes back in float64."""
    from hjb.montecarlo.sampler import learned_control
    from hjb.settings import FiniteHorizonSettings
    from hjb.solvers.finite_horizon import TimedPolicy, value_network
    from hjb.solvers.solution import Solution

    torch.manual_seed(0)
    model = DiffusionModel(GaussianMixture([0.3, 0.7], [[-1.0], [1.0]], [[[0.2]], [[0.3]]]), VPNoising(0.5, 2.0, 1.0))
    settings = FiniteHorizonSettings(width=16, depth=2)
    net = value_network(model, settings, 1.0)
    solution = Solution(model, net, TimedPolicy(model, net), [], settings, "trained")
    x, t = torch.linspace(-2.0, 2.0, 50, dtype=torch.float64)[:, None], torch.full((50, 1), 0.4, dtype=torch.float64)
    xt = torch.cat([x, t], dim=1).requires_grad_(True)
    exact = model.sigma(t) * torch.autograd.grad(solution.network(xt).sum(), xt)[0][:, :1]
    u = learned_control(solution)(x, t)
    assert u.dtype == torch.float64
    assert torch.allclose(u, exact, rtol=1e-5, atol=1e-6 * exact.abs().max().item())
    assert solution.network.net.linears[0].weight.dtype == torch.float64  # the solution's own network is untouched
