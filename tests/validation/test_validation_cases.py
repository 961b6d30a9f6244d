"""Time-dependent validation cases (Fokker–Planck, diffusion) and the per-kind report: suites, metrics, tables, plots."""
from __future__ import annotations

import dataclasses
import pickle
import re

import numpy as np
import pytest
import torch

from hjb.errors import ProblemError
from hjb.pdes.data_laws import SampleLaw
from hjb.pdes.diffusion_model import default_box
from hjb.settings import FiniteHorizonSettings, FokkerPlanckSettings
from hjb.validation import suites
from hjb.validation.density_cases import _density_metrics
from hjb.validation.diffusion_case import DENSITY_FLOOR, exact_log_density_and_score
from hjb.validation.metrics import rel_l2
from hjb.validation.report import format_markdown, format_table, write_report

TINY = {"width": 16, "collocation": 128, "adam_steps_first": 200, "pde_lbfgs_steps": 50}
TINY_DIFFUSION = FiniteHorizonSettings(**TINY, adam_steps=50, max_iterations=2)
TINY_DENSITY = FokkerPlanckSettings(**TINY)


def test_suites_hold_every_kind_and_quick_is_part_of_full():
    full = {case.name: case for case in suites.get_suite("full")}
    quick = suites.get_suite("quick")
    assert len(full) == len(suites.get_suite("full"))  # unique names
    assert {case.name for case in quick} <= set(full)
    assert {case.kind for case in quick} == {"hjb", "fokker_planck", "diffusion", "residual", "qlearn"}
    assert {case.kind for case in full.values()} == {"hjb", "fokker_planck", "diffusion", "residual", "hjb_lqg", "timed",
                                                     "qlearn"}
    assert [case.name for case in full.values() if case.kind == "diffusion"] == ["mixture1d", "mixture2d"]
    for case in full.values():  # `--jobs` sends cases to spawned worker processes
        assert pickle.loads(pickle.dumps(case)).describe() == case.describe()


@pytest.mark.parametrize("name, unknown", [("heat5d", "value_rel_l2"), ("hopf_lax", "rel_l2")])
def test_unknown_tolerance_is_refused(name, unknown):
    case = next(c for c in suites.get_suite("full") if c.name == name)
    with pytest.raises(ProblemError, match=rf"unknown tolerances \['{unknown}'\]"):
        dataclasses.replace(case, tolerances={unknown: 1.0})


def test_density_metrics_against_hand_computation():
    exact = [np.array([1.0, 2.0, 1.0]), np.array([0.5, 0.5, 0.5])]
    p = [np.array([1.0, 2.0, 1.3]), np.array([0.5, -0.01, 0.5])]
    m = _density_metrics(p, exact, [1.004, 0.99], (0.5, 1.0))
    assert m["density_rel_l2_by_time"]["0.5"] == pytest.approx(0.3 / np.sqrt(6.0))
    assert m["density_rel_l2"] == pytest.approx(0.51 / np.sqrt(0.75))
    assert m["mass_error"] == pytest.approx(0.01)
    assert m["negative_density_ratio"] == pytest.approx(0.01 / 2.0)


def _fake(name: str, kind: str, **metrics) -> dict:
    tolerances = {k: 1e-2 for k in metrics if not k.startswith(("dsm", "samples_pinn")) and k != "iterations"}
    ok = all(v <= 1e-2 for k, v in metrics.items() if k in tolerances)
    return {"name": name, "kind": kind, "tolerances": tolerances, **metrics, "seconds": 1.0, "status": "trained",
            "error": None, "passed": ok}


def test_report_has_one_table_per_kind_with_tolerances_and_verdicts():
    cases = [
        _fake("lqr", "hjb", value_rel_l2=1e-3, policy_rel_l2=2e-3, max_abs_hjb_residual=1e-3, iterations=3),
        _fake("ou", "fokker_planck", density_rel_l2=5e-3, mass_error=2e-3, negative_density_ratio=0.0),
        _fake("mix", "diffusion", log_density_rel_l2=3e-2, dsm_log_density_rel_l2=1e-1, score_rel_l2=1e-2,
              dsm_score_rel_l2=9e-2, iterations=4, dsm_seconds=55.0, samples_pinn_log_density_rel_l2=4e-2,
              samples_pinn_score_rel_l2=6e-2, samples_pinn_energy_ratio=1.5, samples_pinn_seconds=120.0),
    ]
    cases[2].update(train_samples=10000, dsm_settings={"steps": 20000}, samples_pinn_bandwidth=[0.195],
                    samples_pinn_terminal_rel_l2=2e-2, samples_pinn_sample_seconds=180.0)
    cases[1]["density_rel_l2_by_time"] = {"0.25": 1e-3, "1": 5e-3}
    report = {"suite": "t", "seed": 0, "created": "now", "passed": False, "cases": cases}
    table = format_table(report)
    for title in ("HJB (infinite horizon)", "Fokker–Planck", "beside denoising score matching (DSM)"):
        assert title in table
    assert "3.00e-02 (≤ 1e-02)" in table and "1.00e-01" in table  # PINN with its tolerance, DSM without
    lines = table.splitlines()
    header = next(line for line in lines if line.startswith("case") and "DSM log p" in line)
    cells = re.split(r"\s{2,}", next(line for line in lines if line.startswith("mix ")))
    row = dict(zip(re.split(r"\s{2,}", header), cells, strict=True))
    assert list(row).index("samples-PINN log p") == list(row).index("DSM log p") + 1
    new = [row[f"samples-PINN {k}"] for k in ("log p", "score", "energy", "s")]
    assert new == ["4.00e-02", "6.00e-02", "1.50e+00", "120.0"]  # as measured, no tolerance
    assert table.splitlines()[-1] == "suite t: FAILED: mix"
    md = format_markdown(report)
    assert "- `ou` density rel l2: t = 0.25: 1.00e-03, t = 1: 5.00e-03" in md
    assert md.count("| case |") == 3
    assert "**samples-PINN**: the PINN" in md and "exact mean and covariance" in md
    assert ("- `mix`: n = 10000, N = 20000; samples-PINN h = 0.195, its KDE log p_data rel L2 2.00e-02; "
            "sampling s: samples-PINN 180.0") in md


def test_tiny_diffusion_and_fokker_planck_cases_run_and_plot(tmp_path):
    by_name = {case.name: case for case in suites.get_suite("full")}
    diffusion = dataclasses.replace(by_name["mixture1d"], settings=TINY_DIFFUSION, dsm_steps=200, samples=500,
                                    sampler_steps=50, identity_paths=200, identity_steps=50)
    density = dataclasses.replace(by_name["ou_fokker_planck"], settings=TINY_DENSITY)
    results = [case.run(seed=1, progress=False) for case in (density, diffusion)]
    for result, case in zip(results, (density, diffusion), strict=True):
        metrics = {k: result[k] for k in case.tolerances}
        assert all(np.isfinite(v) for v in metrics.values())
        assert result["passed"] == all(metrics[k] <= tol for k, tol in case.tolerances.items())
    r = results[1]
    assert set(r["log_density_rel_l2_by_time"]) == {"0", "1", "1.5", "1.9"}
    assert r["log_density_rel_l2"] == max(r["log_density_rel_l2_by_time"].values())
    assert r["dsm_settings"]["steps"] == 200 and r["data_energy_distance"] > 0
    assert r["identity_gap"] > 0 and r["identity_abs_z"] == abs(r["identity_z"])
    new = [f"samples_pinn_{k}" for k in ("log_density_rel_l2", "score_rel_l2", "energy_ratio", "seconds",
                                         "terminal_rel_l2", "sample_seconds")]
    assert all(np.isfinite(r[k]) for k in new) and r["samples_pinn_seconds"] > 0
    assert r["samples_pinn_log_density_rel_l2"] == max(r["samples_pinn_log_density_rel_l2_by_time"].values())
    assert set(r["samples_pinn_log_density_rel_l2_by_time"]) == set(r["log_density_rel_l2_by_time"])
    assert r["arrays"]["samples"]["PINN from samples"].shape == (500, 1)
    # its terminal condition is the KDE of the very samples DSM trains on, not the exact log p_data
    train = r["arrays"]["train_samples"]
    law = SampleLaw(train)
    assert train.shape == (diffusion.train_samples, 1) and r["samples_pinn_bandwidth"] == law.bandwidth.tolist()
    x = default_box(diffusion.data_factory()).grid(diffusion.grid_points)  # the exact model's box: the same grid
    exact = exact_log_density_and_score(diffusion.data_factory(), diffusion.noising, x, diffusion.noising.horizon)[0]
    where = np.exp(exact) > DENSITY_FLOOR
    kde = law.log_density(torch.as_tensor(x[where]))[:, 0].numpy()
    assert r["samples_pinn_terminal_rel_l2"] == pytest.approx(rel_l2(kde, exact[where]), rel=1e-9)
    assert r["samples_pinn_terminal_rel_l2"] > 1e-2  # measured 0.146 (wired to the exact law it would be 0)
    write_report({"suite": "tiny", "seed": 1, "created": "now", "passed": False, "cases": results}, tmp_path)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["mixture1d_convergence.png", "mixture1d_log_density.png", "mixture1d_samples.png",
                     "ou_fokker_planck_density.png", "report.json", "report.md"]
    md = (tmp_path / "report.md").read_text()
    assert "samples-PINN log p" in md and "- `mixture1d`: n = 10000, N = 200; samples-PINN h = " in md


def test_diffusion_case_without_baselines_runs_the_pinn_alone():
    """`quick`'s mixture1d runs without DSM and the samples-PINN (baselines=False): the PINN's metrics are there,
    the baselines' are not, and the report shows n/a for them."""
    tiny = FiniteHorizonSettings(width=8, depth=1, collocation=64, adam_steps_first=30, pde_lbfgs_steps=0, max_iterations=1)
    case = dataclasses.replace(next(c for c in suites.get_suite("quick") if c.name == "mixture1d"), settings=tiny, train_samples=200, samples=200,
                               energy_sets=1, sampler_steps=20, identity_paths=200, identity_steps=20)
    assert case.name == "mixture1d" and not case.baselines
    result = case.run(progress=False)
    assert np.isfinite(result["log_density_rel_l2"]) and np.isfinite(result["energy_ratio"])
    assert not any(key.startswith(("dsm_", "samples_pinn_")) for key in result)
    report = {"suite": "t", "seed": 0, "created": "now", "passed": result["passed"], "cases": [result]}
    row = next(line for line in format_table(report).splitlines() if line.startswith("mixture1d"))
    assert row.count("n/a") == 8  # DSM and samples-PINN: log p, score, energy each; DSM s, samples-PINN s
