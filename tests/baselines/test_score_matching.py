"""hjb.baselines.score_matching (the DSM baseline) on 1-D Gaussian data N(1, 0.5²), whose noised laws are exact.

The probability-flow ODE and the reverse sampler are checked with the exact score (so only their discretisation
is tested), and the trained network against the exact score and log-density at s = 0.5. Tiny networks, few steps.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from hjb.baselines.score_matching import ScoreModel, ScoreNetwork, train_score_matching
from hjb.errors import DataLawError, ProblemError
from hjb.montecarlo.reverse_time import probability_flow_log_density, reverse_sample
from hjb.pdes.data_laws import GaussianMixture
from hjb.pdes.noising import VPNoising

F64 = torch.float64
M, S = 1.0, 0.25  # data mean and variance
LAW = GaussianMixture([1.0], [[M]], [[[S]]])
NOISING = VPNoising(beta_min=0.5, beta_max=4.0, horizon=1.0)  # a non-constant schedule


def exact_score(y: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """∇ log p_s(y) = −(y − α m)/(α² S + 1 − α²) (n, 1) for y (n, 1), s (n, 1)."""
    a = NOISING.alpha(s)
    return -(y - a * M) / (a * a * S + 1.0 - a * a)


def exact_log_density(y: np.ndarray, s: float) -> np.ndarray:
    """log p_s(y) (n,) of the noised Gaussian."""
    law = LAW.noised(float(NOISING.alpha(s)))
    return law.log_density(torch.as_tensor(y, dtype=F64)).numpy().ravel()


def prior_log_density(y: torch.Tensor) -> torch.Tensor:
    """Exact log p_T (n, 1)."""
    return LAW.noised(float(NOISING.alpha(NOISING.horizon))).log_density(y)


@pytest.fixture(scope="module")
def model() -> ScoreModel:
    data = LAW.sample(2000, np.random.default_rng(0))
    return train_score_matching(data, NOISING, width=32, depth=2, steps=1500, batch=256, lr=3e-3, seed=0)


def test_probability_flow_of_the_exact_score_gives_the_exact_log_density():
    y = np.linspace(-1.5, 3.0, 41).reshape(-1, 1)
    for s in (0.0, 0.3, 0.8):
        got = probability_flow_log_density(exact_score, y, s, NOISING, prior_log_density, steps=100)
        assert got.shape == (41,)
        np.testing.assert_allclose(got, exact_log_density(y, s), atol=1e-6, rtol=0)  # measured ≤ 1e-9
    # one time per point (n,), integrated jointly
    s = np.linspace(0.0, 1.0, 41)
    got = probability_flow_log_density(exact_score, y, s, NOISING, prior_log_density, steps=100)
    want = np.array([exact_log_density(y[i:i + 1], s[i])[0] for i in range(41)])
    np.testing.assert_allclose(got, want, atol=1e-6, rtol=0)


def test_reverse_sampler_with_the_exact_score_recovers_the_data_moments():
    rng = np.random.default_rng(1)
    n = 4000
    y_T = NOISING.noise(LAW.sample(n, rng), NOISING.horizon, rng)
    x = reverse_sample(exact_score, y_T, NOISING, rng, s_min=1e-3, steps=400)[:, 0]
    assert x.shape == (n,) and np.all(np.isfinite(x))
    mean_se = np.sqrt(S / n)
    var_se = S * np.sqrt(2.0 / (n - 1))  # Gaussian data: Var of the sample variance is 2S²/(n − 1)
    assert abs(x.mean() - M) <= 4 * mean_se
    assert abs(x.var(ddof=1) - S) <= 4 * var_se


def test_learned_score_matches_the_exact_score(model):
    s = 0.5
    y = LAW.noised(float(NOISING.alpha(s))).sample(2000, np.random.default_rng(2))
    got = model.score(y, s)
    want = exact_score(torch.as_tensor(y), torch.tensor(s, dtype=F64)).numpy()
    assert got.shape == (2000, 1)
    rel = np.linalg.norm(got - want) / np.linalg.norm(want)
    assert rel <= 0.1  # measured 0.063 (seed 0); seeds 1–3: 0.057, 0.059, 0.026
    # s as an array (n,) gives the same values
    np.testing.assert_allclose(model.score(y[:5], np.full(5, s)), got[:5], rtol=1e-12)


def test_learned_log_density_and_samples(model):
    s = 0.5
    y = LAW.noised(float(NOISING.alpha(s))).sample(200, np.random.default_rng(3))
    got = model.log_density(y, s, steps=40)
    assert got.shape == (200,)
    err = got - exact_log_density(y, s)
    assert np.sqrt(np.mean(err**2)) <= 0.1  # measured RMS 0.051 (seeds 1–3: 0.042–0.051)
    x = model.sample(2000, np.random.default_rng(4), steps=200)
    assert x.shape == (2000, 1) and np.all(np.isfinite(x))
    assert abs(x.mean() - M) <= 0.1 and abs(x.var() - S) <= 0.1  # measured −0.022, −0.053


def test_training_is_reproducible():
    data = LAW.sample(50, np.random.default_rng(5))
    a = train_score_matching(data, NOISING, width=8, depth=1, steps=5, batch=16, seed=3)
    b = train_score_matching(data, NOISING, width=8, depth=1, steps=5, batch=16, seed=3)
    np.testing.assert_array_equal(a.losses, b.losses)
    y = np.array([[0.0], [1.0]])
    np.testing.assert_array_equal(a.score(y, 0.2), b.score(y, 0.2))


def test_network_is_epsilon_parametrised():
    net = ScoreNetwork(2, NOISING, width=4, depth=1)
    y, s = torch.randn(3, 2, dtype=F64), torch.full((3, 1), 0.4, dtype=F64)
    sigma = torch.sqrt(1 - NOISING.alpha(s) ** 2)
    torch.testing.assert_close(net(y, s), -net.epsilon(y, s) / sigma)


def test_single_precision_twin_agrees_to_float32(model):
    """The sampler's float32 copy of s_θ agrees with it to float32 precision and returns float64."""
    y, s = torch.linspace(-3.0, 3.0, 64, dtype=F64)[:, None], torch.full((64, 1), 0.3, dtype=F64)
    twin = model.network.single_precision()
    with torch.no_grad():
        exact, single = model.network(y, s), twin(y, s)
    assert single.dtype == F64 and model.network.mlp[0].weight.dtype == F64
    torch.testing.assert_close(single, exact, rtol=1e-5, atol=1e-5 * exact.abs().max().item())


def test_bad_inputs_raise():
    good = LAW.sample(20, np.random.default_rng(6))
    bad = good.copy()
    bad[3, 0] = np.nan
    with pytest.raises(DataLawError):
        train_score_matching(bad, NOISING, steps=1)
    with pytest.raises(DataLawError):
        train_score_matching(good.reshape(1, 2, 10), NOISING, steps=1)
    with pytest.raises(DataLawError):
        train_score_matching(good[:1], NOISING, steps=1)
    for steps in (0, -3):
        with pytest.raises(ProblemError):
            train_score_matching(good, NOISING, steps=steps)
    with pytest.raises(ProblemError):
        train_score_matching(good, NOISING, steps=1, s_min=0.0)
    y = np.zeros((2, 1))
    with pytest.raises(ProblemError):
        probability_flow_log_density(exact_score, y, 0.5, NOISING, prior_log_density, steps=0)
    with pytest.raises(ProblemError):
        reverse_sample(exact_score, y, NOISING, np.random.default_rng(0), steps=0)
    m = train_score_matching(good, NOISING, width=4, depth=1, steps=1, batch=4)
    with pytest.raises(ProblemError):
        m.score(np.zeros((2, 3)), 0.5)  # wrong dimension
    with pytest.raises(ProblemError):
        m.score(y, 0.0)  # the ε-parametrised score is singular at s = 0
    with pytest.raises(ProblemError):
        m.log_density(y, 2.0)  # beyond T
    with pytest.raises(ProblemError):
        m.sample(5, np.random.default_rng(0), steps=0)
