"""Data laws, noising schedules and space-time domains: bad input gives one specific, one-line error."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from hjb.errors import DataLawError, ProblemError
from hjb.geometry import Box, SpaceTime
from hjb.pdes.data_laws import GaussianMixture, SampleLaw
from hjb.pdes.diffusion_model import DiffusionModel
from hjb.pdes.noising import VPNoising


@pytest.mark.parametrize("weights, covariances, message", [
    ([1.2, -0.2], [[[1.0]], [[1.0]]], "mixture weights must be ≥ 0 and sum to 1 (a density); got [1.2, -0.2]"),
    ([0.5, 0.4], [[[1.0]], [[1.0]]], "mixture weights must be ≥ 0 and sum to 1 (a density); got [0.5, 0.4]"),
    ([0.5, 0.5], [[[1.0]], [[-0.1]]], "mixture covariance 1 must be symmetric positive definite; got [[-0.1]]"),
])
def test_mixture_that_is_not_a_density(weights, covariances, message):
    with pytest.raises(DataLawError) as err:
        GaussianMixture(weights, [[0.0], [1.0]], covariances)
    assert str(err.value) == message and "\n" not in str(err.value)


def test_non_psd_2d_covariance():
    with pytest.raises(DataLawError, match="covariance 0 must be symmetric positive definite"):
        GaussianMixture([1.0], [[0.0, 0.0]], [[[1.0, 2.0], [2.0, 1.0]]])


@pytest.mark.parametrize("samples, message", [
    (np.array([[0.0], [np.nan], [1.0]]), "data samples contain NaN or inf (1 of 3 rows); expected finite values"),
    (np.zeros((4, 2, 2)), "data samples must have shape (n, d) with n ≥ 2; got (4, 2, 2)"),
    (np.zeros((1, 2)), "data samples must have shape (n, d) with n ≥ 2; got (1, 2)"),
    ("abc", "data samples must be a numeric array of shape (n, d)"),
])
def test_bad_sample_arrays(samples, message):
    with pytest.raises(DataLawError) as err:
        SampleLaw(samples)
    assert str(err.value) == message


@pytest.mark.parametrize("kwargs, message", [
    ({"beta_min": 0.0}, "the β schedule must be positive on [0, T]; got β_min=0.0, β_max=0.0"),
    ({"beta_min": 0.1, "beta_max": -1.0}, "the β schedule must be positive on [0, T]; got β_min=0.1, β_max=-1.0"),
    ({"horizon": 0.0}, "the horizon T must be a positive number; got 0.0"),
    ({"horizon": -1.0}, "the horizon T must be a positive number; got -1.0"),
])
def test_bad_noising(kwargs, message):
    with pytest.raises(ProblemError) as err:
        VPNoising(**kwargs)
    assert str(err.value) == message


def test_space_time_needs_positive_horizon():
    with pytest.raises(ProblemError, match=r"needs t0 < t1 \(a horizon T > 0\); got t0=0.0, t1=0.0"):
        SpaceTime(Box(-1.0, 1.0), 0.0)


def test_space_time_points_and_grid_order():
    domain = SpaceTime(Box([-1.0, 0.0], [1.0, 2.0]), 3.0)
    x = domain.sample(64, seed=1)
    assert x.shape == (64, 3) and np.all(domain.box.contains(x[:, :2])) and np.all((x[:, 2] >= 0) & (x[:, 2] <= 3))
    grid = domain.grid(5, 4)
    assert grid.shape == (4 * 25, 3)
    np.testing.assert_allclose(grid[:25, 2], 0.0)  # time slowest, then the space grid
    np.testing.assert_allclose(grid[25:50, :2], domain.box.grid(5))
    lateral = domain.lateral_points(40)
    on_face = np.isclose(lateral[:, :2], domain.box.lo) | np.isclose(lateral[:, :2], domain.box.hi)
    assert np.all(on_face.any(axis=1))


def test_mixture_log_density_matches_scipy_and_noised_law():
    from scipy.stats import multivariate_normal

    mix = GaussianMixture([0.25, 0.75], [[0.0, 1.0], [2.0, -1.0]], [np.eye(2) * 0.5, [[1.0, 0.3], [0.3, 0.4]]])
    x = np.random.default_rng(0).normal(size=(50, 2))
    ref = np.log(0.25 * multivariate_normal([0, 1], np.eye(2) * 0.5).pdf(x)
                 + 0.75 * multivariate_normal([2, -1], [[1.0, 0.3], [0.3, 0.4]]).pdf(x))
    np.testing.assert_allclose(mix.log_density(torch.tensor(x))[:, 0].numpy(), ref, rtol=1e-12)
    noised = mix.noised(0.6)
    np.testing.assert_allclose(noised.means, 0.6 * mix.means)
    np.testing.assert_allclose(noised.covariances[1], 0.36 * mix.covariances[1] + 0.64 * np.eye(2))


def test_diffusion_model_dimension_mismatch():
    with pytest.raises(ProblemError, match="domain has dimension 2 but the data law has dimension 1"):
        DiffusionModel(GaussianMixture([1.0], [[0.0]], [[[1.0]]]), VPNoising(), domain=Box([-1, -1], [1, 1]))
