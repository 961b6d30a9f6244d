"""The hjb_lqg100d case's measurement and run (validation.hjb_lqg_case), on small dimensions."""
import numpy as np
import pytest

from hjb.settings import FiniteHorizonSettings
from hjb.validation.hjb_lqg import hjb_lqg_value
from hjb.validation.hjb_lqg_case import NORMAL_POINTS, HJBLQGCase, measure, uniform_radius_law
from hjb.validation.report import format_markdown, write_case_plots


@pytest.mark.parametrize("shift", [0.0, 0.02])
def test_measure_reads_u_as_minus_v_at_time_zero(shift):
    """V = −u_exact − shift at t = 0 (and nonsense at other times) gives |u(0,0) − ref|/ref = shift/ref and the
    rel L2 shift·√n/‖u‖ over the N(0, I) points."""
    d, lam = 5, 10.0

    def value(xt):
        assert xt.shape[1] == d + 1 and np.all(xt[:, -1] == 0.0)
        return -hjb_lqg_value(0.0, xt[:, :d], lam) - shift

    m = measure(value, d, lam)
    assert m["u00_reference"] == pytest.approx(float(hjb_lqg_value(0.0, np.zeros((1, d)), lam)[0]), rel=1e-14)
    assert m["u00_rel_error"] == pytest.approx(shift / m["u00_reference"], abs=1e-12)
    x = np.random.default_rng(20_261_201).standard_normal((NORMAL_POINTS, d))
    u = hjb_lqg_value(0.0, x, lam)
    assert m["rel_l2"] == pytest.approx(shift * np.sqrt(NORMAL_POINTS) / np.linalg.norm(u), abs=1e-12)


def test_uniform_radius_law_scales_standard_normals():
    """X_0 = U·Z: E|X_0|² = d·E U² = d/3."""
    x = uniform_radius_law(4)(20000, np.random.default_rng(0))
    sq = (x**2).sum(1)
    assert x.shape == (20000, 4) and abs(sq.mean() - 4 / 3) < 4 * sq.std() / np.sqrt(len(sq))


def test_a_tiny_case_runs_reports_and_plots(tmp_path):
    """In 2-D with a tiny budget the case solves both λs, reports each λ and the worst metrics, fails honestly at
    its tolerance, and draws its figures."""
    settings = FiniteHorizonSettings(width=8, depth=1, collocation=64, adam_steps_first=20, adam_steps=10,
                                     pde_lbfgs_steps=10, max_iterations=2, probe_points=64)
    case = HJBLQGCase("tiny_lqg", 2, (1.0, 10.0), settings, {"u00_rel_error": 1e-9})
    result = case.run(progress=False)
    assert [r["lam"] for r in result["per_lambda"]] == [1.0, 10.0]
    assert result["u00_rel_error"] == max(r["u00_rel_error"] for r in result["per_lambda"])
    assert np.isfinite(result["rel_l2"]) and result["passed"] is False
    names = sorted(p.name for p in write_case_plots(result, tmp_path))
    assert names == ["tiny_lqg_convergence.png", "tiny_lqg_value.png"]
    report = {"suite": "t", "created": "now", "seed": 0, "passed": False, "cases": [result]}
    assert "HJB-LQ" in format_markdown(report)
