"""The Gaussian base of the diffusion model's value network: moments of the data laws, b(·, T) = g bit for bit,
and for Gaussian data b is the exact log p_{T−t} (so its log-density HJB residual vanishes)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from hjb.errors import ProblemError
from hjb.geometry.box import Box
from hjb.pdes.data_laws import GaussianMixture, SampleLaw
from hjb.pdes.diffusion_model import DiffusionModel, GaussianBase, log_density_hjb_residual
from hjb.pdes.finite_horizon import FiniteHorizonProblem
from hjb.pdes.generator import space_time_derivatives
from hjb.pdes.noising import VPNoising
from hjb.settings import FiniteHorizonSettings
from hjb.solvers.finite_horizon import value_network

NOISING = VPNoising(0.5, 4.0, 2.0)
MIXTURE = GaussianMixture([0.1, 0.2, 0.3, 0.4], 1.5 * np.array([[1.0, 1.0], [-1.0, 1.0], [-1.0, -1.0], [1.0, -1.0]]),
                          np.array([[[0.09, 0.02], [0.02, 0.05]]] * 4))
GAUSSIAN = GaussianMixture([1.0], [[0.7, -0.4]], [[[0.5, 0.2], [0.2, 0.3]]])


def _points(n: int, d: int, t: float | None = None, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(seed)
    x = torch.as_tensor(rng.uniform(-3, 3, (n, d)))
    t = torch.as_tensor(rng.uniform(0, NOISING.horizon, (n, 1))) if t is None else torch.full((n, 1), t, dtype=torch.float64)
    return x, t


def test_mixture_moments_match_its_samples():
    y = MIXTURE.sample(400_000, np.random.default_rng(1))
    assert np.allclose(MIXTURE.mean(), y.mean(axis=0), atol=1e-2)
    assert np.allclose(MIXTURE.covariance(), np.cov(y, rowvar=False), atol=2e-2)


def test_sample_law_moments_are_those_of_its_kernel_density():
    y = np.random.default_rng(2).normal(size=(50, 2)) * [1.0, 2.0] + [3.0, -1.0]
    law = SampleLaw(y, bandwidth=0.4)
    assert np.allclose(law.mean(), y.mean(axis=0))
    assert np.allclose(law.covariance(), np.cov(y, rowvar=False, bias=True) + 0.16 * np.eye(2))


@pytest.mark.parametrize("data", [MIXTURE, SampleLaw(MIXTURE.sample(200, np.random.default_rng(3)))])
def test_base_is_the_terminal_condition_at_T(data):
    model = DiffusionModel(data, NOISING)
    x, _ = _points(64, 2)
    T = torch.full((64, 1), NOISING.horizon, dtype=torch.float64)
    assert torch.equal(model.base(x, T), data.log_density(x))
    net = value_network(model, FiniteHorizonSettings(width=8, depth=2), rate=3.0)
    assert torch.equal(net(torch.cat([x, T], dim=1)), data.log_density(x))
    model.check_shapes()


def test_base_of_gaussian_data_is_the_exact_noised_log_density():
    base = GaussianBase(GAUSSIAN, NOISING)
    for t in (0.0, 0.7, 1.9):
        x, tt = _points(50, 2, t)
        exact = GAUSSIAN.noised(float(NOISING.alpha(NOISING.horizon - t))).log_density(x)
        assert torch.allclose(base(x, tt), exact, rtol=0, atol=1e-12)


def test_base_of_gaussian_data_solves_the_log_density_hjb():
    model = DiffusionModel(GAUSSIAN, NOISING)
    x, t = _points(200, 2)
    xt = torch.cat([x, t], dim=1).requires_grad_(True)
    W = model.base(xt[:, :2], xt[:, 2:])
    dWdt, dW, d2W = space_time_derivatives(W, xt, create_graph=False)
    residual = log_density_hjb_residual(model, x, t, -dWdt, -dW, -d2W)  # V = −W
    assert float(residual.abs().max()) < 1e-10


def test_base_of_a_mixture_does_not_solve_it():
    model = DiffusionModel(MIXTURE, NOISING)
    x, t = _points(200, 2)
    xt = torch.cat([x, t], dim=1).requires_grad_(True)
    dWdt, dW, d2W = space_time_derivatives(model.base(xt[:, :2], xt[:, 2:]), xt, create_graph=False)
    assert float(log_density_hjb_residual(model, x, t, -dWdt, -dW, -d2W).abs().max()) > 1.0


def test_a_base_off_the_terminal_condition_is_refused():
    problem = FiniteHorizonProblem(
        name="off", horizon=1.0, domain=Box([-1.0], [1.0]), action_dim=1,
        drift=lambda x, a, t: a, diffusion=lambda x, a, t: torch.ones(len(x), 1, 1, dtype=x.dtype),
        reward=lambda x, a, t: -0.5 * a * a, terminal=lambda x: -x * x, base=lambda x, t: -x * x + 1e-9)
    with pytest.raises(ProblemError, match="base\\(x, T\\) must equal the terminal"):
        problem.check_shapes()
    with pytest.raises(ProblemError, match="base must be callable"):
        FiniteHorizonProblem(name="bad", horizon=1.0, domain=Box([-1.0], [1.0]), action_dim=1, drift=lambda x, a, t: a,
                             diffusion=lambda x, a, t: a, reward=lambda x, a, t: a, terminal=lambda x: x, base=3)


def test_visited_points_follow_the_noised_marginals():
    """visited_points: t uniform on [0, T]; within a thin time slab x has the exact noised mixture's mean and
    covariance (4·10⁴ points, ≈ 800 in the slab; tolerances five standard errors), and every point lies in the box."""
    model = DiffusionModel(MIXTURE, NOISING)
    points = model.visited_points(40000, np.random.default_rng(1))
    assert points.shape == (40000, 3)
    lo, hi = model.domain.box.lo, model.domain.box.hi
    assert np.all(points[:, :2] >= lo) and np.all(points[:, :2] <= hi)
    t = points[:, 2]
    assert abs(t.mean() - 1.0) < 5 * 2.0 / np.sqrt(12 * 40000) and t.min() >= 0 and t.max() <= 2.0
    slab = points[np.abs(t - 1.9) < 0.02, :2]  # noising time s ≈ 0.1: four separated modes
    law = MIXTURE.noised(float(NOISING.alpha(0.1)))
    se = np.sqrt(np.diag(law.covariance()) / len(slab))
    assert np.all(np.abs(slab.mean(axis=0) - law.mean()) < 5 * se)
    C = law.covariance()
    cov_se = np.sqrt((np.outer(np.diag(C), np.diag(C)) + C**2) / len(slab))  # Gaussian approximation
    assert np.all(np.abs(np.cov(slab.T) - C) < 5 * cov_se)
