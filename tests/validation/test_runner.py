"""Validation runner: cases solved on a Dask LocalCluster give exactly the serial results, in suite order."""
from __future__ import annotations

import dataclasses

import pytest
from tiny_solver import TINY_SETTINGS, run_cli

from hjb.errors import ProblemError
from hjb.validation import suites
from hjb.validation.runner import run_cases

METRICS = ("value_rel_l2", "policy_rel_l2", "max_abs_hjb_residual", "iterations")


def _tiny_cases():
    quick = suites.get_suite("quick")
    return [dataclasses.replace(case, settings=TINY_SETTINGS, grid_points=11) for case in quick[:2]]


def test_parallel_cases_match_serial_ones():
    cases = _tiny_cases()
    serial = run_cases(cases, seed=3, progress=False, jobs=1)
    parallel = run_cases(cases, seed=3, progress=False, jobs=2)
    assert [r["name"] for r in parallel] == [case.name for case in cases]
    for a, b in zip(serial, parallel, strict=True):
        assert {k: a[k] for k in METRICS} == {k: b[k] for k in METRICS}


def test_jobs_must_be_positive():
    with pytest.raises(ProblemError, match="jobs must be a positive integer; got 0"):
        run_cases(_tiny_cases(), jobs=0)


def test_cli_rejects_zero_jobs():
    result = run_cli("validate", "--jobs", "0")
    assert result.returncode == 2
    assert result.stderr.strip() == "hjb: error: --jobs must be a positive integer; got 0"
