"""QLearnCase (hjb.validation.qlearn_case): the gain, value and variance metrics against hand-computed numbers, a
case that measures a wrong answer fails, one end-to-end run at tiny settings (injected here only) returns every
metric and renders in the report, and the suites' three cases declare only facts of their problems."""
import pickle
from dataclasses import replace

import numpy as np
import pytest
from tiny_solver import TINY_SETTINGS

from hjb.errors import ProblemError
from hjb.geometry import Box
from hjb.io.jsonio import dumps
from hjb.settings import QLEARNING_SETTINGS, QLearningSettings
from hjb.validation.cases import passed
from hjb.validation.qlearn_case import (
    METRICS,
    QLearnCase,
    fitted_gain,
    gain_rel_errors,
    variance_rel_error,
)
from hjb.validation.report import format_markdown, format_table, write_case_plots
from hjb.validation.suites import get_suite, lqr1d_within

K_LQR1D = np.array([[2.65975]])
K_DOUBLE_INTEGRATOR = np.array([[2.96663, 3.94196]])
TINY_Q = QLearningSettings(transitions=2000, steps=20, batch=64, width=8, depth=1, actor_width=8, actor_depth=1,
                           checkpoints=2, probe_points=32)


def _case(name: str) -> QLearnCase:
    return next(c for c in get_suite("full") if c.name == name)


class _Fake:
    """A learned solution made by hand: policy mean −scale·K*x + offset, value factor·V, the given variance."""

    def __init__(self, case, scale=1.0, offset=0.0, factor=1.0, variance=(0.0,)):
        self.reference = case.reference(case.make())
        self.K = getattr(self.reference, "riccati", self.reference).K
        self.scale, self.offset, self.factor, self.variance = scale, offset, factor, variance

    def policy(self, x):
        return -self.scale * x @ self.K.T + self.offset

    def value(self, x):
        return self.factor * self.reference.value(x)

    def policy_variance(self):
        return np.array(self.variance)


def test_the_fitted_gain_of_minus_1_02_k_star_x_is_1_02_k_star_with_its_offset():
    x = Box([-0.25, -0.25], [0.25, 0.25]).grid(11)
    gain, offset = fitted_gain(x, 0.3 - 1.02 * x @ K_DOUBLE_INTEGRATOR.T)
    np.testing.assert_allclose(gain, 1.02 * K_DOUBLE_INTEGRATOR, rtol=1e-12)
    np.testing.assert_allclose(offset, [0.3], atol=1e-12)
    np.testing.assert_allclose(gain_rel_errors(gain, K_DOUBLE_INTEGRATOR), [0.02, 0.02], rtol=1e-9)


def test_each_gain_component_has_its_own_error_and_a_zero_reference_is_refused():
    gain = K_DOUBLE_INTEGRATOR * np.array([[1.02, 0.97]])
    np.testing.assert_allclose(gain_rel_errors(gain, K_DOUBLE_INTEGRATOR), [0.02, 0.03], rtol=1e-9)
    with pytest.raises(ProblemError, match="K"):
        gain_rel_errors(gain, np.array([[1.0, 0.0]]))


def test_the_variance_error_is_relative_to_the_reference_diagonal():
    assert variance_rel_error([1.1], [[1.0]]) == pytest.approx(0.1)
    assert variance_rel_error([0.5, 2.3], [[0.5, 0.2], [0.2, 2.0]]) == pytest.approx(0.15)
    assert variance_rel_error(np.array([0.95]), 0.1 / np.array([[0.1]])) == pytest.approx(0.05)


def test_the_exact_answer_passes_and_a_gain_3_percent_off_fails():
    case = _case("qlearn_lqr1d")
    exact = case.measure(_Fake(case), case.make())
    assert exact["gain_rel_error"] < 1e-12 and exact["value_rel_l2"] < 1e-12 and exact["variance_rel_error"] is None
    assert passed({key: exact[key] for key in METRICS}, case.tolerances)
    off = case.measure(_Fake(case, scale=1.03, offset=0.1, factor=1.1), case.make())
    assert off["gain_rel_error"] == pytest.approx(0.03) and off["policy_offset"] == pytest.approx([0.1])
    assert off["value_rel_l2"] == pytest.approx(0.1)
    assert not passed({key: off[key] for key in METRICS}, case.tolerances)


def test_the_entropy_case_measures_the_variance_against_gamma_over_r():
    case = _case("qlearn_entropy_lqr")
    exact = case.measure(_Fake(case, variance=(1.0,)), case.make())  # γ/R = 0.1/0.1
    assert exact["variance_rel_error"] < 1e-12 and exact["variance_reference"] == pytest.approx([1.0])
    assert passed({key: exact[key] for key in METRICS}, case.tolerances)
    wide = case.measure(_Fake(case, variance=(1.08,)), case.make())
    assert wide["variance_rel_error"] == pytest.approx(0.08)
    assert not passed({key: wide[key] for key in METRICS}, case.tolerances)


def test_a_case_runs_end_to_end_and_reports_every_metric(tmp_path):
    case = replace(_case("qlearn_entropy_lqr"), settings=TINY_Q, model_settings=TINY_SETTINGS)
    result = case.run(progress=False)
    for key in (*METRICS, "gain", "gain_reference", "gain_rel_errors", "transitions", "seconds", "status",
                "model_based_gain", "model_based_gain_rel_error", "model_based_seconds", "model_based_status"):
        assert result[key] is not None, key
    assert all(np.isfinite(result[key]) for key in METRICS)
    assert result["transitions"] == 2000 and result["settings"]["temperature"] == 0.1
    assert result["status"] in ("converged", "not_converged") and result["kind"] == "qlearn"
    report = {"suite": "t", "seed": 0, "created": "now", "passed": result["passed"], "cases": [result]}
    assert "| qlearn_entropy_lqr |" in format_markdown(report) and "qlearn_entropy_lqr" in format_table(report)
    assert [p.name for p in write_case_plots(result, tmp_path)] == ["qlearn_entropy_lqr_policy.png",
                                                                     "qlearn_entropy_lqr_value.png"]
    dumps({k: v for k, v in result.items() if k != "arrays"})  # JSON-ready


def test_the_suites_cases_declare_facts_of_their_problems_and_run_at_the_defaults():
    full = {c.name: c for c in get_suite("full") if c.kind == "qlearn"}
    assert set(full) == {"qlearn_lqr1d", "qlearn_double_integrator", "qlearn_entropy_lqr"}
    assert [c.name for c in get_suite("quick") if c.kind == "qlearn"] == ["qlearn_lqr1d"]  # the quickest
    for case in full.values():
        assert case.settings is None and case.model_settings is None and case.dt == 0.002
        assert case.cost() > 0
        pickle.dumps(case)  # the cluster runner ships cases to workers
        K = _Fake(case).K
        np.testing.assert_allclose(K, K_DOUBLE_INTEGRATOR if case.gain_region.dim == 2 else K_LQR1D, rtol=2e-6)
        corners = np.array(np.meshgrid(*zip(case.gain_region.lo, case.gain_region.hi, strict=True))).reshape(
            case.gain_region.dim, -1).T
        bound = case.make().action_bounds[1]
        assert np.all(np.abs(corners @ K.T) < bound)  # −K*x inside the bounds on the gain region
    assert full["qlearn_entropy_lqr"].learner_settings() == QLEARNING_SETTINGS.replace(temperature=0.1)
    assert full["qlearn_lqr1d"].learner_settings(3) == QLEARNING_SETTINGS.replace(seed=3)
    assert full["qlearn_lqr1d"].tolerances == {"gain_rel_error": 2e-2, "value_rel_l2": 5e-2}
    assert full["qlearn_entropy_lqr"].tolerances == {"gain_rel_error": 2e-2, "variance_rel_error": 5e-2}


def test_a_tolerance_the_case_cannot_measure_is_refused():
    with pytest.raises(ProblemError, match="unknown tolerances"):
        QLearnCase("x", lqr1d_within, Box(-1.0, 1.0), tolerances={"policy_rel_l2": 1e-2})
    with pytest.raises(ProblemError, match="value_region"):
        QLearnCase("x", lqr1d_within, Box(-1.0, 1.0), tolerances={"value_rel_l2": 1e-2})
    with pytest.raises(ProblemError, match="temperature"):
        QLearnCase("x", lqr1d_within, Box(-1.0, 1.0), tolerances={"variance_rel_error": 1e-2})
