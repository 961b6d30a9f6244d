"""Every fit in hjb trains a ResidualPDE through hjb.nn.pinn_fit.train_pinn: the HJB policy evaluation (anchors as
weighted PointData, an exit as Dirichlet), the finite-horizon and log-density HJB and the Fokker–Planck residuals.
Each built-in residual, as the ResidualPDE the solver trains, is ≈ 0 at an exact solution and not at a wrong one."""
import math

import numpy as np
import pytest
import torch

from hjb.errors import ProblemError, ShapeError
from hjb.geometry import Box
from hjb.geometry.spacetime import SpaceTime
from hjb.pdes import conditions as cond
from hjb.pdes.residual_pde import ResidualPDE
from hjb.settings import FokkerPlanckSettings

SIGMA = 0.7


def _ou(x):
    """dX = −X dt + σ dW: f (n, 1), Σ (n, 1, 1)."""
    return -x[:, :1], torch.full((len(x), 1, 1), SIGMA, dtype=x.dtype)


def _ou_log_density(xt):
    """log p of the OU law from N(0, 1), N(0, s²(t)), s² = e^{−2t} + σ²/2 (1 − e^{−2t}) (n, 1) at xt (n, 2)."""
    x, t = xt[:, :1], xt[:, 1:]
    s2 = torch.exp(-2 * t) + SIGMA**2 / 2 * (1 - torch.exp(-2 * t))
    return -x**2 / (2 * s2) - 0.5 * torch.log(2 * math.pi * s2)


def _captured_pde(monkeypatch, module, call):
    """The ResidualPDE `call()` hands to module.train_pinn (training skipped)."""
    seen = []

    def record(pde, net, points, **options):
        seen.append(pde)
        return np.zeros(1), 0

    monkeypatch.setattr(module, "train_pinn", record)
    call()
    assert len(seen) == 1 and isinstance(seen[0], ResidualPDE)
    return seen[0]


def _rms_at(pde, log_density, points):
    xt = torch.as_tensor(points, dtype=torch.float64).requires_grad_(True)
    return float(torch.sqrt(torch.mean(pde(xt, log_density(xt)).detach() ** 2)))


def test_the_fokker_planck_fit_trains_a_residual_pde_zero_at_the_exact_law(monkeypatch):
    import hjb.solvers.density as density

    domain = SpaceTime(Box(-3.0, 3.0), 1.0)
    settings = FokkerPlanckSettings(collocation=64, adam_steps_first=1, pde_lbfgs_steps=0)
    pde = _captured_pde(monkeypatch, density, lambda: density.solve_fokker_planck(
        _ou, lambda x: -x**2 / 2 - 0.5 * math.log(2 * math.pi), domain, settings, progress=False))
    points = domain.sample(256, "sobol", seed=3)
    assert _rms_at(pde, _ou_log_density, points) < 1e-12
    twice_as_fast = lambda xt: _ou_log_density(torch.cat([xt[:, :1], 2 * xt[:, 1:]], dim=1))  # noqa: E731
    assert _rms_at(pde, twice_as_fast, points) > 1e-2


def test_the_stationary_fit_trains_a_residual_pde_zero_at_the_invariant_law(monkeypatch):
    import hjb.solvers.density as density

    box = Box(-3.0, 3.0)
    settings = FokkerPlanckSettings(collocation=64, adam_steps_first=1, pde_lbfgs_steps=0)
    pde = _captured_pde(monkeypatch, density, lambda: density.solve_stationary_fokker_planck(
        _ou, box, settings, progress=False, per_axis=11))
    x = box.sample(256, "sobol", seed=3)
    assert _rms_at(pde, lambda x: -x**2 / SIGMA**2, x) < 1e-12  # N(0, σ²/2)
    assert _rms_at(pde, lambda x: -x**2, x) > 1e-2


def test_policy_evaluation_is_a_residual_pde_with_anchors_and_its_exit_condition():
    from hjb.nn.value_network import ValueNetwork
    from hjb.pdes.exit_time import exit_time
    from hjb.solvers.boundary import boundary_conditions
    from hjb.solvers.evaluation import evaluation_pde
    from hjb.solvers.policies import InitialPolicy

    problem = exit_time(sigma=0.8, discount=0.5, half_width=1.0)
    critic = ValueNetwork(problem.domain, 8, 1)
    critic.set_output_scale(0.0, 1.0)
    anchors = cond.PointData(np.array([[0.0]]), np.array([1.0]), np.array([1.0]))
    edge, weights = boundary_conditions(problem, critic)
    pde = evaluation_pde(problem, InitialPolicy(problem), critic, (anchors, *edge))
    assert isinstance(pde, ResidualPDE) and len(weights) == 1
    assert [type(c).__name__ for c in pde.conditions] == ["PointData", "Dirichlet"]
    kappa = math.sqrt(2 * 0.5) / 0.8

    def exact(x):  # (1 − cosh κx / cosh κL)/ρ
        return (1 - torch.cosh(kappa * x) / math.cosh(kappa)) / 0.5

    x = problem.domain.sample(128, "sobol", seed=1)
    assert _rms_at(pde, exact, x) < 1e-12
    assert _rms_at(pde, lambda x: 2 * exact(x), x) > 1e-1


def test_weights_and_paired_shapes_are_checked():
    box = Box(0.0, 1.0)
    with pytest.raises(ProblemError, match="weights must be 2 finite numbers"):
        cond.validate([cond.PointData([[0.1], [0.2]], [1.0, 2.0], [1.0])], box)
    with pytest.raises(ProblemError, match="weights must be 2 finite numbers"):
        cond.validate([cond.PointData([[0.1], [0.2]], [1.0, 2.0], [1.0, -1.0])], box)
    pde = ResidualPDE(name="p", residual=lambda x, u, D: D.dx(0), domain=box, paired=True)
    with pytest.raises(ShapeError, match=r"expected \(8, 2\)"):
        pde.check_shapes()
