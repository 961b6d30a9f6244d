"""ControlProblem's boundary behaviour (none, exit, reflect): checked on construction in one line, described, and the
exit_time family (hjb.pdes.exit_time) against its closed form (hjb.validation.exit_time) in float64."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from hjb.errors import ProblemError, ShapeError, UnknownNameError
from hjb.geometry import Box
from hjb.pdes import ControlProblem, evaluation_residual
from hjb.pdes.exit_time import exit_time
from hjb.validation.exit_time import ExitTimeSolution, exit_time_solution


def _problem(**extra) -> ControlProblem:
    return ControlProblem(name="bm", drift=lambda x, a: torch.zeros_like(x),
                          diffusion=lambda x, a: torch.ones(x.shape[0], 1, 1, dtype=x.dtype),
                          reward=lambda x, a: torch.ones(x.shape[0], 1, dtype=x.dtype), discount=0.5,
                          domain=Box(-1.0, 1.0), action_dim=1, **extra)


def _one_line(err) -> str:
    message = str(err.value)
    assert "\n" not in message
    return message


def test_boundary_names_are_checked():
    assert _problem().boundary == "none"
    with pytest.raises(UnknownNameError) as err:
        _problem(boundary="absorb")
    assert "none, exit, reflect" in _one_line(err)


def test_boundary_reward_needs_exit_and_a_callable():
    with pytest.raises(ProblemError, match="needs boundary='exit'") as err:
        _problem(boundary="reflect", boundary_reward=lambda x: torch.zeros(x.shape[0], 1))
    _one_line(err)
    with pytest.raises(ProblemError, match="boundary_reward must be callable"):
        _problem(boundary="exit", boundary_reward=3.0)


@pytest.mark.parametrize("boundary, kind", [("reflect", "Neumann"), ("exit", "Dirichlet")])
def test_a_boundary_condition_on_a_problem_without_boundary_is_refused(boundary, kind):
    # With initial_law the states come from an unbounded process; the box only truncates: there is no boundary.
    with pytest.raises(ProblemError, match=f"a {kind}.*has none") as err:
        _problem(boundary=boundary, initial_law=lambda n, rng: rng.normal(size=(n, 1)))
    _one_line(err)


def test_boundary_reward_shape_is_checked():
    problem = _problem(boundary="exit", boundary_reward=lambda x: torch.zeros(x.shape[0]))
    with pytest.raises(ShapeError, match="boundary_reward returned shape"):
        problem.check_shapes()


def test_describe_and_default_boundary_reward():
    problem = _problem(boundary="exit")
    assert problem.describe()["boundary"] == "exit" and not problem.describe()["has_boundary_reward"]
    x = torch.tensor([[1.0], [-1.0]], dtype=torch.float64)
    assert problem.boundary_reward(x).shape == (2, 1) and torch.all(problem.boundary_reward(x) == 0)
    assert exit_time().describe()["boundary"] == "exit"


def test_exit_time_checks_its_parameters():
    with pytest.raises(ProblemError, match="sigma > 0"):
        exit_time(sigma=0.0)
    with pytest.raises(ProblemError, match="half_width > 0"):
        exit_time(half_width=float("inf"))


@pytest.mark.parametrize("sigma, rho, L", [(1.0, 0.5, 1.0), (0.6, 1.5, 0.5), (2.0, 0.1, 2.0)])
def test_closed_form_zeroes_the_residual_and_the_boundary(sigma, rho, L):
    """ρV − 1 − ½σ²V″ = 0 inside, by hjb's residual with V′, V″ from central differences, and V(±L) = 0."""
    problem = exit_time(sigma=sigma, discount=rho, half_width=L)
    reference = exit_time_solution(problem)
    assert reference == ExitTimeSolution(sigma, rho, L)
    x = np.linspace(-L, L, 41)[1:-1, None]
    h = 1e-4 * L
    V, up, down = (reference.value(x + s) for s in (0.0, h, -h))
    dV, d2V = (up - down) / (2 * h), (up - 2 * V + down) / h**2
    t = lambda v: torch.as_tensor(v, dtype=torch.float64)  # noqa: E731
    residual = evaluation_residual(problem, t(x), t(V[:, None]), t(dV[:, None]), t(d2V[:, None, None]),
                                   torch.zeros(len(x), 1, dtype=torch.float64))
    assert float(residual.abs().max()) < 1e-6  # the reward is 1; central differences leave ~h²
    assert reference.value(np.array([[-L], [L]])) == pytest.approx([0.0, 0.0], abs=1e-15)
    # V is far from 0 and from the unstopped 1/ρ inside: the boundary matters.
    assert 0.05 / rho < reference.value(np.zeros((1, 1)))[0] < 0.95 / rho
    assert np.all(reference.policy(x) == 0.0) and reference.policy(x).shape == (len(x), 1)


def test_closed_form_against_a_second_form():
    # (1 − cosh(κx)/cosh(κL))/ρ written directly (the reference evaluates it overflow-free).
    reference = ExitTimeSolution(1.0, 0.5, 1.0)
    x = np.linspace(-1.0, 1.0, 11)[:, None]
    kappa = np.sqrt(2 * 0.5) / 1.0
    assert reference.value(x) == pytest.approx((1 - np.cosh(kappa * x[:, 0]) / np.cosh(kappa)) / 0.5, rel=1e-13,
                                               abs=1e-15)
    assert np.isfinite(ExitTimeSolution(0.01, 2.0, 50.0).value(np.array([[0.0], [49.0]]))).all()
