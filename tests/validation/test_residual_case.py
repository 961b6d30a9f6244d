"""ResidualCase (hjb.validation.residual_case): metrics measured against the exact u and its derivative, the report's
table row and figure, and the suite's residual cases declared as their closed forms require."""
import math

import numpy as np
import pytest
import torch

from hjb.geometry import Box
from hjb.pdes.conditions import Dirichlet
from hjb.pdes.residual_pde import ResidualPDE
from hjb.settings import ResidualSettings
from hjb.validation.report import format_markdown, write_case_plots
from hjb.validation.residual_case import ResidualCase
from hjb.validation.suites import get_suite

SMALL = ResidualSettings(width=32, collocation=128, boundary_points=8, adam_steps_first=500, pde_lbfgs_steps=500)


def _poisson():
    return ResidualPDE(name="poisson1d", domain=Box([0.0], [1.0]), conditions=[Dirichlet(0.0)],
                       residual=lambda x, u, D: D.dxx(0) + math.pi**2 * torch.sin(math.pi * x))


def _points():
    return np.linspace(0.0, 1.0, 101).reshape(-1, 1)


def _case(exact, derivative):
    return ResidualCase("poisson1d", _poisson, exact, _points, {"rel_l2": 1e-3, "derivative_rel_l2": 5e-3},
                        derivative=(0, derivative), settings=SMALL)


def test_a_residual_case_measures_u_and_its_derivative_against_the_exact_solution(tmp_path):
    result = _case(lambda x: np.sin(np.pi * x[:, 0]), lambda x: np.pi * np.cos(np.pi * x[:, 0])).run(progress=False)
    assert result["passed"] and result["rel_l2"] < 1e-3 and result["derivative_rel_l2"] < 5e-3
    assert result["status"] == "converged" and result["kind"] == "residual"
    assert result["arrays"]["u"].shape == (101,)
    report = {"suite": "t", "seed": 0, "created": "now", "passed": True, "cases": [result]}
    assert "| poisson1d |" in format_markdown(report)
    assert [p.name for p in write_case_plots(result, tmp_path)] == ["poisson1d_value.png"]


def test_a_wrong_reference_fails_the_case():
    """The same solve measured against sin(πx) + 0.01·x(1 − x) (off by about 0.4%) fails rel L2 ≤ 1e-3."""
    result = _case(lambda x: np.sin(np.pi * x[:, 0]) + 0.01 * x[:, 0] * (1 - x[:, 0]),
                   lambda x: np.pi * np.cos(np.pi * x[:, 0])).run(progress=False)
    assert not result["passed"] and result["rel_l2"] > 1e-3


@pytest.mark.parametrize("name", ["heat5d", "black_scholes_call"])
def test_the_full_suite_s_residual_cases_measure_their_closed_forms_at_their_points(name):
    case = next(c for c in get_suite("full") if c.name == name)
    x = case.points()
    pde = case.make()
    assert x.shape[1] == pde.columns and np.all(np.isfinite(case.exact(x)))
    assert case.settings == ResidualSettings()  # the defaults, no per-case knob
