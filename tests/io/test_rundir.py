"""hjb.io.rundir and hjb.io.atomic: run directories round-trip a solution, are written atomically, and are recognised."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest
from tiny_solver import LQR1D_FILE, LQR2D_FILE, MERTON_FILE, TINY_SETTINGS, hand_built, write

from hjb.errors import RunDirError
from hjb.io.atomic import atomic_directory, atomic_write_text
from hjb.io.pdefile import load_problem
from hjb.io.rundir import load_run, save_run
from hjb.pdes import Merton, seed_lqr

RUN_FILES = ["convergence.png", "history.json", "hjb-run.json", "policy.png", "problem.py", "settings.json",
             "value.png", "weights.pt"]



def _no_temp(directory) -> bool:
    return not any("hjb-tmp" in p.name for p in directory.iterdir())


def _same(a, b, x):
    np.testing.assert_allclose(b.value(x), a.value(x), rtol=1e-12)
    np.testing.assert_allclose(b.action(x), a.action(x), rtol=1e-12)


def test_save_writes_every_file_and_the_marker(tmp_path):
    source = write(tmp_path / "lqr.py", LQR1D_FILE)
    solution = hand_built(seed_lqr())
    run = save_run(solution, tmp_path / "runs" / "lqr1d", source)
    assert sorted(p.name for p in run.iterdir()) == RUN_FILES
    marker = json.loads((run / "hjb-run.json").read_text())
    assert marker["format"] == "hjb-run" and marker["format_version"] == 1
    assert marker["status"] == "not_converged" and marker["iterations"] == 1
    assert marker["problem"] == solution.problem.describe()
    assert (run / "problem.py").read_text() == LQR1D_FILE
    assert json.loads((run / "settings.json").read_text()) == TINY_SETTINGS.to_dict()
    history = json.loads((run / "history.json").read_text())  # strict JSON: inf is written as null
    assert history[0]["value_change"] is None and history[0]["hjb_residual_rms"] == 1.5
    for png in ("value.png", "policy.png", "convergence.png"):
        assert (run / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert _no_temp(run.parent)


@pytest.mark.parametrize(
    "source, factory, kind",
    [
        (LQR1D_FILE, seed_lqr, "greedy"),
        (MERTON_FILE, Merton, "greedy"),
        (MERTON_FILE, Merton, "actor"),
        (LQR2D_FILE, None, "initial"),
    ],
)
def test_load_run_round_trips(tmp_path, source, factory, kind):
    path = write(tmp_path / "pde.py", source)
    problem = factory() if factory is not None else load_problem(path)[0]
    solution = hand_built(problem, kind)
    loaded = load_run(save_run(solution, tmp_path / "run", path))
    assert loaded.policy.kind == kind and loaded.status == solution.status
    assert loaded.settings == solution.settings and loaded.problem.describe() == problem.describe()
    assert loaded.iterations == 1
    _same(solution, loaded, problem.domain.grid(7))


def test_diverged_run_with_empty_history(tmp_path):
    path = write(tmp_path / "lqr.py", LQR1D_FILE)
    solution = hand_built(seed_lqr(), "initial", history=[])
    solution.status = "diverged"
    loaded = load_run(save_run(solution, tmp_path / "run", path))
    assert loaded.status == "diverged" and loaded.history == [] and loaded.policy.kind == "initial"


def test_not_a_run_directory(tmp_path):
    with pytest.raises(RunDirError) as exc:
        load_run(tmp_path)
    assert str(exc.value) == (
        f"{tmp_path} is not an hjb run directory (no hjb-run.json); expected the output of `hjb solve`"
    )


def test_incomplete_run_directory(tmp_path):
    run = save_run(hand_built(seed_lqr()), tmp_path / "run", write(tmp_path / "lqr.py", LQR1D_FILE))
    (run / "weights.pt").unlink()
    with pytest.raises(RunDirError, match="missing weights.pt"):
        load_run(run)


def test_damaged_marker(tmp_path):
    (tmp_path / "hjb-run.json").write_text("{not json")
    with pytest.raises(RunDirError, match="unreadable"):
        load_run(tmp_path)


def test_save_replaces_an_earlier_run(tmp_path):
    path = write(tmp_path / "lqr.py", LQR1D_FILE)
    run = save_run(hand_built(seed_lqr(), "initial"), tmp_path / "run", path)
    (run / "stale.txt").write_text("from the earlier run")
    save_run(hand_built(seed_lqr(), "greedy"), run, path)
    assert sorted(p.name for p in run.iterdir()) == RUN_FILES
    assert load_run(run).policy.kind == "greedy"
    assert _no_temp(tmp_path)


def test_save_refuses_to_overwrite_other_directories(tmp_path):
    path = write(tmp_path / "lqr.py", LQR1D_FILE)
    target = tmp_path / "data"
    target.mkdir()
    (target / "precious.txt").write_text("keep me")
    with pytest.raises(RunDirError, match="not an hjb run directory"):
        save_run(hand_built(seed_lqr()), target, path)
    assert sorted(p.name for p in target.iterdir()) == ["precious.txt"]
    assert _no_temp(tmp_path)


def test_save_into_an_empty_directory(tmp_path):
    (tmp_path / "run").mkdir()
    run = save_run(hand_built(seed_lqr()), tmp_path / "run", write(tmp_path / "lqr.py", LQR1D_FILE))
    assert (run / "hjb-run.json").is_file()


def test_atomic_directory_discards_a_failed_write(tmp_path):
    final = tmp_path / "out"
    with pytest.raises(RuntimeError), atomic_directory(final, marker="hjb-run.json") as temp:
        (temp / "half.txt").write_text("half")
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_atomic_directory_keeps_the_old_run_on_failure(tmp_path):
    final = tmp_path / "out"
    with atomic_directory(final, marker="m") as temp:
        (temp / "m").write_text("old")
    with pytest.raises(RuntimeError), atomic_directory(final, marker="m") as temp:
        (temp / "m").write_text("new")
        raise RuntimeError("interrupted")
    assert (final / "m").read_text() == "old" and _no_temp(tmp_path)


def test_atomic_write_text(tmp_path):
    target = tmp_path / "sub" / "a.txt"
    atomic_write_text(target, "one")
    atomic_write_text(target, "two")
    assert target.read_text() == "two"
    assert sorted(p.name for p in target.parent.iterdir()) == ["a.txt"]
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask  # an ordinary new file's permissions, not mkstemp's 0600
