"""`hjb simulate` on hand-built runs (no training): the happy path as a subprocess (three files, their keys and shapes,
the optimal policy's rollout on the same noise); a finite-horizon run (from t0 to T, terminal reward, no horizon
beyond T); each bad input → exit 2, one `hjb: error: …` line, no output directory."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from tiny_solver import LQR1D_FILE, hand_built, run_cli, write

from hjb.cli import main
from hjb.io.pdefile import load_problem
from hjb.io.rundir import save_run
from hjb.pdes import seed_lqr
from hjb.settings import ResidualSettings
from hjb.solvers.finite_horizon import TimedPolicy, value_network
from hjb.solvers.residual import ResidualSolution, residual_network
from hjb.solvers.solution import Solution

FINITE_FILE = (
    "from hjb.pdes.timed_lqr import finite_horizon_lqr\nfrom hjb.settings import FiniteHorizonSettings\n"
    "problem = finite_horizon_lqr([[-0.5]], [[1.0]], [[1.0]], [[0.1]], [[0.3]], [[1.0]], horizon=1.0, discount=0.2,\n"
    "                             name='fh_lqr', state_names=['position'], action_names=['push'])\n"
    "settings = FiniteHorizonSettings(width=8, depth=1)\n"
)


HEAT_FILE = (
    "from hjb.geometry.box import Box\nfrom hjb.geometry.spacetime import SpaceTime\n"
    "from hjb.pdes.residual_pde import ResidualPDE\n"
    "pde = ResidualPDE(name='heat', residual=lambda x, u, D: D.dt() - D.dxx(0, 0), domain=SpaceTime(Box(0.0, 1.0), 1.0))\n"
)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """An infinite-horizon run (the seed LQR, greedy policy of an untrained critic), a finite-horizon one and a
    residual PDE's."""
    root = tmp_path_factory.mktemp("simulate")
    lqr = save_run(hand_built(seed_lqr()), root / "lqr", write(root / "lqr.py", LQR1D_FILE))
    source = write(root / "fh.py", FINITE_FILE)
    problem, settings = load_problem(source)
    torch.manual_seed(0)
    net = value_network(problem, settings, 1.0)
    finite = save_run(Solution(problem, net, TimedPolicy(problem, net), [], settings, status="not_converged"),
                      root / "fh", source)
    source = write(root / "heat.py", HEAT_FILE)
    pde, settings = load_problem(source)
    settings = settings or ResidualSettings()
    heat = save_run(ResidualSolution(pde, residual_network(pde, settings), [], settings, "not_converged"),
                    root / "heat", source)
    return {"lqr": lqr, "finite": finite, "heat": heat}


def _fails(args: list[str], capsys) -> str:
    """Run `hjb ARGS` in process; assert exit 2 and a single `hjb: error:` line; return the line."""
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("hjb: error: "), err
    return err[0]


def test_simulate_writes_the_three_files(runs):
    run = runs["lqr"]
    result = run_cli("simulate", str(run), "--x0", "1.5", "--paths", "64")
    assert result.returncode == 0, result.stderr
    out = run / "simulate"
    assert sorted(p.name for p in out.iterdir()) == ["simulation.json", "simulation.npz", "simulation.png"]
    summary = json.loads((out / "simulation.json").read_text())
    with np.load(out / "simulation.npz") as data:
        arrays = {key: data[key] for key in data.files}
    steps = summary["steps"]
    assert summary["horizon"] == pytest.approx(50.0)  # 5/ρ
    assert summary["dt"] == pytest.approx(50.0 / steps) and steps <= 2000
    assert summary["paths"] == 64 and summary["seed"] == 0 and summary["x0"] == [1.5]
    assert summary["state_names"] == ["x0"] and summary["terminal_reward"] is False
    expected = {"times": (steps + 1,), "paths": (64, steps + 1, 1), "actions": (64, steps, 1),
                "cumulative": (64, steps + 1), "paths_optimal": (64, steps + 1, 1),
                "actions_optimal": (64, steps, 1), "cumulative_optimal": (64, steps + 1)}
    assert {key: value.shape for key, value in arrays.items()} == expected
    assert arrays["times"][0] == 0.0 and arrays["times"][-1] == pytest.approx(50.0)
    assert np.all(arrays["paths"][:, 0, 0] == 1.5) and np.all(arrays["paths_optimal"][:, 0, 0] == 1.5)
    final = arrays["cumulative"][:, -1]
    assert summary["mean_reward"] == pytest.approx(final.mean())
    assert summary["stderr"] == pytest.approx(final.std(ddof=1) / 8)
    optimal = summary["optimal"]
    assert optimal["mean_reward"] == pytest.approx(arrays["cumulative_optimal"][:, -1].mean())
    assert optimal["stderr"] == pytest.approx(arrays["cumulative_optimal"][:, -1].std(ddof=1) / 8)
    # The Riccati policy's actions are −Kx on its own paths (K ≈ 2.66 for the seed LQR).
    np.testing.assert_allclose(arrays["actions_optimal"], -2.6597507 * arrays["paths_optimal"][:, :-1], rtol=1e-6)
    # Within a few of its standard errors of the closed form's (V(1.5) = −0.419; the tail e^{−5}·E V(X_T) ≈ −0.0008;
    # the Euler bias at this step, ≈ −0.7·dt, is allowed for).
    assert abs(optimal["mean_reward"] + 0.419) <= 4 * optimal["stderr"] + 0.8 * summary["dt"]
    assert (out / "simulation.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "mean discounted reward" in result.stdout and "optimal policy (Riccati" in result.stdout


def test_finite_horizon_run_from_t0_to_T(runs, tmp_path, capsys):
    out = tmp_path / "sim"
    assert main(["simulate", str(runs["finite"]), "--x0", "0.5", "--paths", "8", "--seed", "2", "--out", str(out)]) == 0
    summary = json.loads((out / "simulation.json").read_text())
    assert summary["horizon"] == 1.0 and summary["terminal_reward"] is True and summary["optimal"] is None
    assert summary["state_names"] == ["position"] and summary["action_names"] == ["push"]
    with np.load(out / "simulation.npz") as data:
        assert "paths_optimal" not in data.files
        times, paths, cumulative = data["times"], data["paths"], data["cumulative"]
    assert times[0] == 0.0 and times[-1] == 1.0
    # The last column adds e^{−ρT}·g(X_T), g = −½x²: the jump over the last step is that plus one reward step.
    jump = cumulative[:, -1] - cumulative[:, -2]
    assert np.all(jump <= -np.exp(-0.2) * 0.5 * paths[:, -1, 0] ** 2 + 1e-12)
    assert "simulated 8 paths of fh_lqr" in capsys.readouterr().out
    line = _fails(["simulate", str(runs["finite"]), "--x0", "0.5", "--horizon", "1.5", "--out", str(tmp_path / "x")],
                  capsys)
    assert "runs past the run's final time T = 1" in line and not (tmp_path / "x").exists()


@pytest.mark.parametrize("x0, message", [
    (["1.5,0.2"], "--x0 has 2 numbers; expected 1"),
    (["abc"], "--x0 must be numbers"),
    (["nan"], "--x0 must be finite numbers"),
    (["3"], "lies outside the run's box"),
])
def test_bad_x0_exits_2_and_writes_nothing(runs, tmp_path, capsys, x0, message):
    out = tmp_path / "sim"
    line = _fails(["simulate", str(runs["lqr"]), "--x0", *x0, "--out", str(out)], capsys)
    assert message in line, line
    assert not out.exists()


def test_bad_run_and_options_exit_2(runs, tmp_path, capsys):
    line = _fails(["simulate", str(tmp_path / "missing"), "--x0", "1.5"], capsys)
    assert "does not exist" in line and not (tmp_path / "missing").exists()
    line = _fails(["simulate", str(runs["heat"]), "--x0", "0.5", "--out", str(tmp_path / "sim")], capsys)
    assert "holds a residual PDE" in line and not (tmp_path / "sim").exists()
    for args, message in ((["--paths", "0"], "--paths must be a positive integer"),
                          (["--seed", "-1"], "--seed must be an integer ≥ 0"),
                          (["--horizon", "-2"], "--horizon must be a finite number > 0"),
                          (["--dt", "0"], "--dt must be a finite number > 0"),
                          (["--horizon", "1", "--dt", "2"], "longer than the horizon")):
        out = tmp_path / "sim"
        assert message in _fails(["simulate", str(runs["lqr"]), "--x0", "1.5", "--out", str(out), *args], capsys)
        assert not out.exists()
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "notes.txt").write_text("mine")
    line = _fails(["simulate", str(runs["lqr"]), "--x0", "1.5", "--out", str(taken)], capsys)
    assert "is not an earlier `hjb simulate` output" in line
    assert sorted(p.name for p in taken.iterdir()) == ["notes.txt"]


def test_rerun_replaces_an_earlier_simulation(runs, tmp_path, capsys):
    out = tmp_path / "sim"
    args = ["simulate", str(runs["lqr"]), "--x0", "-1", "--paths", "4", "--horizon", "1", "--out", str(out)]
    assert main(args) == 0 and main([*args, "--seed", "1"]) == 0
    assert json.loads((out / "simulation.json").read_text())["seed"] == 1
    assert sorted(p.name for p in out.iterdir()) == ["simulation.json", "simulation.npz", "simulation.png"]
