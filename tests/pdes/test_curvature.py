"""The generator's curvature term Tr(ΣΣᵀ∇²V) without the full Hessian: along Σ's columns (exact) and by the
Hutchinson estimate (unbiased), against the full autograd Hessian in float64 on random networks and Σ."""
import pytest
import torch

from hjb.pdes.generator import directional_curvature, hutchinson_curvature, value_derivatives


def _network_and_points(d: int, n: int = 16, seed: int = 0):
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(d, 24), torch.nn.Tanh(), torch.nn.Linear(24, 24), torch.nn.Tanh(),
                              torch.nn.Linear(24, 1)).double()
    x = torch.randn(n, d, dtype=torch.float64, requires_grad=True)
    return net, x


def _exact(net, x, sigma) -> torch.Tensor:
    dV, d2V = value_derivatives(net(x), x)
    return (sigma @ sigma.transpose(-1, -2) * d2V).sum(dim=(-2, -1)).unsqueeze(-1)


@pytest.mark.parametrize(("d", "k"), [(1, 1), (3, 2), (5, 5), (7, 3)])
def test_directional_curvature_equals_the_full_hessian_trace(d, k):
    net, x = _network_and_points(d)
    sigma = torch.randn(len(x), d, k, dtype=torch.float64)
    dV = torch.autograd.grad(net(x).sum(), x, create_graph=True)[0]
    got = directional_curvature(dV, x, sigma)
    torch.testing.assert_close(got, _exact(net, x, sigma), rtol=1e-12, atol=1e-12)
    # it keeps the graph to the network's weights: the weight gradients of the two forms agree too
    # (the last bias does not enter the curvature: no gradient from either form)
    weights = list(net.parameters())[:-1]
    g_dir = torch.autograd.grad(got.sum(), weights, retain_graph=True)
    g_full = torch.autograd.grad(_exact(net, x, sigma).sum(), weights)
    for a, b in zip(g_dir, g_full, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def test_directions_are_held_constant_when_sigma_depends_on_x():
    """Σ(x) = x-dependent: the curvature is still vᵀ∇²V v, without derivatives of v."""
    net, x = _network_and_points(3)
    sigma = torch.stack([torch.sin(x), x**2], dim=-1)  # (n, 3, 2), with a graph to x
    dV = torch.autograd.grad(net(x).sum(), x, create_graph=True)[0]
    torch.testing.assert_close(directional_curvature(dV, x, sigma), _exact(net, x, sigma.detach()),
                               rtol=1e-12, atol=1e-12)


def test_hutchinson_is_exact_for_one_noise_column():
    net, x = _network_and_points(4)
    sigma = torch.randn(len(x), 4, 1, dtype=torch.float64)
    dV = torch.autograd.grad(net(x).sum(), x, create_graph=True)[0]
    got = hutchinson_curvature(dV, x, sigma, probes=3, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(got, _exact(net, x, sigma), rtol=1e-12, atol=1e-12)


def test_hutchinson_mean_is_within_its_standard_error():
    """Per point, the mean of 400 independent one-probe estimates is within 4 standard errors of the exact trace,
    and the estimator is not exact (its spread is not zero)."""
    net, x = _network_and_points(6, n=8, seed=2)
    sigma = torch.randn(len(x), 6, 6, dtype=torch.float64)
    dV = torch.autograd.grad(net(x).sum(), x, create_graph=True)[0]
    rng = torch.Generator().manual_seed(3)
    draws = torch.cat([hutchinson_curvature(dV, x, sigma, probes=1, generator=rng, create_graph=False)
                       for _ in range(400)], dim=1)
    exact = _exact(net, x, sigma).detach()[:, 0]
    mean, stderr = draws.mean(dim=1), draws.std(dim=1) / 20.0
    assert torch.all(stderr > 0)
    assert torch.all((mean - exact).abs() <= 4 * stderr)


def test_the_5d_evaluation_residual_takes_the_curvature_along_sigma_and_equals_the_full_hessian_form():
    """Above FULL_HESSIAN_MAX_DIM (5-D LQR, Σ with k = 3 columns) the training residual skips the Hessian and
    agrees with the full-Hessian residual to rounding."""
    import numpy as np

    from hjb.geometry import Box
    from hjb.nn.value_network import ValueNetwork
    from hjb.pdes import StochasticLQR
    from hjb.pdes.generator import FULL_HESSIAN_MAX_DIM
    from hjb.pdes.residuals import evaluation_residual
    from hjb.solvers.evaluation import evaluation_pde
    from hjb.solvers.policies import InitialPolicy

    rng = np.random.default_rng(7)
    problem = StochasticLQR(A=rng.normal(size=(5, 5)) / np.sqrt(5) - 0.5 * np.eye(5), B=rng.normal(size=(5, 2)),
                            Q=np.eye(5), R=np.eye(2), D=0.3 * rng.normal(size=(5, 3)), discount=0.2,
                            domain=Box([-2.0] * 5, [2.0] * 5))
    assert problem.state_dim > FULL_HESSIAN_MAX_DIM
    torch.manual_seed(0)
    critic = ValueNetwork(problem.domain, 16, 2)
    critic.set_output_scale(-1.0, 2.0)
    policy = InitialPolicy(problem)
    x = torch.as_tensor(problem.domain.sample(32, "sobol", seed=0)).requires_grad_(True)
    V = critic.net(x)
    got = evaluation_pde(problem, policy, critic)(x, V)
    dV, d2V = value_derivatives(V, x)
    expected = evaluation_residual(problem, x, V, dV, d2V, policy(x)) / (problem.discount * 2.0)
    assert d2V.shape == (32, 5, 5)
    torch.testing.assert_close(got, expected, rtol=1e-11, atol=1e-12)


def _lqr5d():
    import numpy as np

    from hjb.geometry import Box
    from hjb.pdes import StochasticLQR

    rng = np.random.default_rng(7)
    return StochasticLQR(A=rng.normal(size=(5, 5)) / np.sqrt(5) - 0.5 * np.eye(5), B=rng.normal(size=(5, 2)),
                         Q=np.eye(5), R=np.eye(2), D=0.3 * rng.normal(size=(5, 3)), discount=0.2,
                         domain=Box([-2.0] * 5, [2.0] * 5))


def test_the_detached_5d_residual_at_the_greedy_and_a_given_action_equals_the_full_hessian_form():
    """residual_at (probe, measure, level shift, Solution.hjb_residual) skips the Hessian above 3-D and agrees with
    the full-Hessian HJB residual, at the greedy action and at a given one."""
    from hjb.nn.value_network import ValueNetwork
    from hjb.pdes.residuals import hjb_residual, residual_at

    problem = _lqr5d()
    torch.manual_seed(1)
    critic = ValueNetwork(problem.domain, 16, 2)
    x = torch.as_tensor(problem.domain.sample(32, "sobol", seed=1))
    V, dV, d2V = critic.derivatives(x)
    a = torch.randn(32, 2, dtype=torch.float64)
    for action in (None, a):
        expected = hjb_residual(problem, x, V, dV, d2V, action)
        got = residual_at(problem, critic, x, action)
        assert not got.requires_grad
        torch.testing.assert_close(got, expected, rtol=1e-11, atol=1e-12)


def test_the_finite_horizon_5d_residual_along_sigma_equals_the_full_hessian_form():
    """A 5-D finite-horizon problem whose greedy action ignores ∇²V: the training residual (evaluation_pde, with and
    without a frozen policy) and the detached HJB residual take the curvature along Σ's columns through the
    space-time graph, and agree with the full-Hessian residual."""
    from hjb.geometry import Box
    from hjb.pdes.finite_horizon import (
        FiniteHorizonProblem,
        finite_horizon_residual,
        finite_horizon_residual_at,
    )
    from hjb.pdes.generator import space_time_derivatives
    from hjb.solvers.finite_horizon import evaluation_pde

    torch.manual_seed(2)
    S = torch.randn(5, 4, dtype=torch.float64) * 0.5

    def diffusion(x, a, t):
        return S.expand(x.shape[0], -1, -1) * (1.0 + t)[:, :, None]  # time-dependent, k = 4 columns

    problem = FiniteHorizonProblem(
        name="fh5d", drift=lambda x, a, t: a - x, diffusion=diffusion,
        reward=lambda x, a, t: -(a**2).sum(-1, keepdim=True) - (x**2).sum(-1, keepdim=True),
        terminal=lambda x: -(x**2).sum(-1, keepdim=True), horizon=1.0, domain=Box([-1.0] * 5, [1.0] * 5),
        action_dim=5, greedy_action=lambda x, t, dV, d2V: 0.5 * dV, greedy_uses_hessian=False)
    net = torch.nn.Sequential(torch.nn.Linear(6, 20), torch.nn.Tanh(), torch.nn.Linear(20, 1)).double()
    xt = torch.as_tensor(problem.domain.sample(24, "sobol", seed=0)).requires_grad_(True)
    V = net(xt)
    dVdt, dV, d2V = space_time_derivatives(V, xt)
    x, t = xt[:, :5], xt[:, 5:]
    fixed = torch.randn(24, 5, dtype=torch.float64)
    for policy, action in ((None, None), (lambda z: fixed, fixed)):
        expected = finite_horizon_residual(problem, x, t, dVdt, dV, d2V, action)
        torch.testing.assert_close(evaluation_pde(problem, policy)(xt, V), expected, rtol=1e-11, atol=1e-12)
    detached = finite_horizon_residual_at(problem, net, xt.detach())
    torch.testing.assert_close(detached, finite_horizon_residual(problem, x, t, dVdt, dV, d2V).detach(),
                               rtol=1e-11, atol=1e-12)


def test_paired_training_residuals_are_two_unbiased_independent_estimates():
    """With more noise columns than EXACT_CURVATURE_MAX_COLUMNS (4-D, k = 20) the training residual is a pair of
    estimates (n, 2): over 300 draws each column's mean is within 4 standard errors of the exact residual (taken
    along all 20 columns), the two columns are uncorrelated, and mean(R₁R₂) estimates mean R² without the bias
    that mean(R₁²) has."""
    import numpy as np

    from hjb.geometry import Box
    from hjb.nn.value_network import ValueNetwork
    from hjb.pdes import StochasticLQR
    from hjb.pdes.generator import EXACT_CURVATURE_MAX_COLUMNS, paired_mean_square
    from hjb.pdes.residuals import evaluation_residual, residual_at
    from hjb.solvers.evaluation import evaluation_pde
    from hjb.solvers.policies import InitialPolicy

    rng = np.random.default_rng(3)
    problem = StochasticLQR(A=-np.eye(4), B=np.ones((4, 1)), Q=np.eye(4), R=[[1.0]], D=0.5 * rng.normal(size=(4, 20)),
                            discount=0.5, domain=Box([-1.0] * 4, [1.0] * 4))
    assert problem.check_shapes() > EXACT_CURVATURE_MAX_COLUMNS
    torch.manual_seed(4)
    critic = ValueNetwork(problem.domain, 16, 2)
    policy = InitialPolicy(problem)
    pde = evaluation_pde(problem, policy, critic)
    assert pde.paired
    x = torch.as_tensor(problem.domain.sample(6, "sobol", seed=0)).requires_grad_(True)
    draws = torch.stack([pde(x, critic.net(x)).detach() for _ in range(300)])  # (300, 6, 2)
    V, dV, d2V = critic.derivatives(x.detach())
    exact = (evaluation_residual(problem, x.detach(), V, dV, d2V, policy(x.detach())) / problem.discount)[:, 0]
    for column in (0, 1):
        mean, se = draws[:, :, column].mean(0), draws[:, :, column].std(0) / np.sqrt(300)
        assert torch.all(se > 0) and torch.all((mean - exact).abs() <= 4 * se)
    centred = draws - exact[None, :, None]
    correlation = (centred[..., 0] * centred[..., 1]).mean(0) / (centred[..., 0].std(0) * centred[..., 1].std(0))
    assert torch.all(correlation.abs() < 0.25)
    products = torch.stack([paired_mean_square(None, d) for d in draws])
    squares = torch.stack([torch.mean(d[:, 0] ** 2) for d in draws])
    target = torch.mean(exact**2)
    assert abs(float(products.mean() - target)) <= 4 * float(products.std()) / np.sqrt(300)
    assert float(squares.mean() - target) > 4 * float(squares.std()) / np.sqrt(300)  # the square of one is biased
    # the diagnostics' estimate (DIAGNOSTIC_PROBES probes per point) is unbiased too, with a smaller spread
    estimates = torch.stack([residual_at(problem, critic, x.detach(), policy(x.detach()))[:, 0] / problem.discount
                             for _ in range(100)])
    mean, se = estimates.mean(0), estimates.std(0) / 10.0
    assert torch.all((mean - exact).abs() <= 4 * se)
    assert torch.all(estimates.std(0) < draws[:, :, 0].std(0))
