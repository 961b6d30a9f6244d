"""`hjb learn` end to end on a tiny ProblemEnvironment of the seed LQR (as a subprocess: a complete run directory, the
exit status its status's), `hjb export` and `hjb simulate` on that run, `--data` from a saved npz, the weights' round
trip through the run directory (both methods), a gymnasium run (exported; refused by simulate) and each bad input →
exit 2, one `hjb: error:` line, no run directory."""
from __future__ import annotations

import json

import numpy as np
import pytest
from tiny_solver import run_cli, write

from hjb.cli import main
from hjb.io.envfile import load_environment
from hjb.io.rundir import load_run
from hjb.learning.learned_run import LearnedRun
from hjb.learning.learner import learn
from hjb.learning.persist import save_learned
from hjb.learning.transitions import collect_transitions, save_transitions

TINY = ("settings = QLearningSettings(transitions=2000, steps=50, batch=256, width=8, depth=1, actor_width=8, "
        "actor_depth=1, probe_points=64, checkpoints=2)\n")
LQR_ENV = ("from hjb.learning.adapters import ProblemEnvironment\nfrom hjb.pdes import seed_lqr\n"
           "from hjb.settings import QLearningSettings\n"
           "env = ProblemEnvironment(seed_lqr(), dt=0.01, action_low=[-10], action_high=[10])\n" + TINY)
PENDULUM_ENV = ("from hjb.learning.adapters import GymnasiumEnvironment\nfrom hjb.settings import QLearningSettings\n"
                "env = GymnasiumEnvironment('Pendulum-v1')\n" + TINY)
WRONG_STEP = (
    "import numpy as np\nfrom hjb.geometry import Box\nfrom hjb.learning.environment import Environment\n"
    "env = Environment(name='bad', reset=lambda n, rng: np.zeros((n, 1)), dt=0.1, discount=1.0,\n"
    "                  step=lambda x, a, dt, rng: (np.zeros((len(x), 2)), np.zeros(len(x))),\n"
    "                  domain=Box([-1.0], [1.0]), action_low=[-1.0], action_high=[1.0])\n"
)
RUN_FILES = ["environment.py", "history.json", "hjb-run.json", "policy.png", "settings.json", "value.png",
             "weights.pt"]


@pytest.fixture(scope="module")
def learned(tmp_path_factory):
    """`hjb learn` as a subprocess on the tiny seed-LQR environment: (its result, the run directory)."""
    root = tmp_path_factory.mktemp("learn")
    source = write(root / "env.py", LQR_ENV)
    result = run_cli("learn", str(source), "--out", str(root / "run"))
    return result, root / "run"


def _fails(args: list[str], capsys) -> str:
    """Run `hjb ARGS` in process; assert exit 2 and a single `hjb: error:` line; return the line."""
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("hjb: error: "), err
    return err[0]


def test_learn_writes_a_complete_run(learned):
    result, run = learned
    marker = json.loads((run / "hjb-run.json").read_text())
    assert result.returncode == (0 if marker["status"] == "converged" else 1), result.stderr
    assert marker["status"] in ("converged", "not_converged")
    assert sorted(p.name for p in run.iterdir()) == RUN_FILES
    assert marker["kind"] == "learned" and marker["format_version"] == 4 and marker["method"] == "q"
    assert marker["transitions"] == 2000 and marker["data"] == "collected" and marker["seconds"] > 0
    assert marker["environment"]["kind"] == "ProblemEnvironment" and marker["environment"]["dt"] == 0.01
    assert json.loads((run / "settings.json").read_text())["steps"] == 50
    assert json.loads((run / "history.json").read_text())[-1]["step"] == 50
    assert (run / "environment.py").read_text() == LQR_ENV
    assert f"status {marker['status']}" in result.stdout and "run directory:" in result.stdout


def test_export_a_learned_run(learned, tmp_path, capsys):
    run = learned[1]
    assert main(["export", str(run), "--out", str(tmp_path / "grid.npz")]) == 0
    with np.load(tmp_path / "grid.npz") as data:
        arrays = {key: data[key] for key in data.files}
    assert sorted(arrays) == ["meta", "policy", "value", "x"]  # no model: no HJB residual
    assert arrays["x"].shape == (101, 1) and arrays["policy"].shape == (101, 1)
    loaded = load_run(run)
    np.testing.assert_array_equal(arrays["value"], loaded.value(arrays["x"]))
    assert np.all(np.abs(arrays["policy"]) <= 10)
    meta = json.loads(str(arrays["meta"]))
    assert meta["parameters"]["kind"] == "ProblemEnvironment" and meta["action_names"] == ["a0"]
    assert main(["export", str(run), "--format", "csv", "--out", str(tmp_path / "grid.csv")]) == 0
    assert (tmp_path / "grid.csv").read_text().splitlines()[1] == "x0,value,a0"


def test_simulate_a_learned_run(learned, tmp_path, capsys):
    out = tmp_path / "sim"
    assert main(["simulate", str(learned[1]), "--x0", "1.5", "--paths", "16", "--out", str(out)]) == 0
    summary = json.loads((out / "simulation.json").read_text())
    assert summary["dt"] == pytest.approx(0.01) and summary["steps"] == 5000 and summary["horizon"] == pytest.approx(50)
    assert summary["kind"] == "ProblemEnvironment" and summary["policy"] == "model-free q"
    assert summary["optimal_policy"].startswith("Riccati")  # the env's problem has a closed form
    with np.load(out / "simulation.npz") as data:
        assert data["paths"].shape == (16, 5001, 1) and data["paths_optimal"].shape == (16, 5001, 1)
        assert np.all(np.abs(data["actions"]) <= 10)
    line = _fails(["simulate", str(learned[1]), "--x0", "1.5", "--dt", "0.02", "--out", str(tmp_path / "x")], capsys)
    assert "differs from the step of environment" in line and not (tmp_path / "x").exists()


def test_learn_from_saved_transitions(tmp_path, capsys):
    source = write(tmp_path / "env.py", LQR_ENV)
    env, _ = load_environment(source)
    save_transitions(tmp_path / "data.npz", collect_transitions(env, 1500, np.random.default_rng(3), 50))
    code = main(["learn", str(source), "--data", str(tmp_path / "data.npz"), "--out", str(tmp_path / "run"),
                 "--quiet"])
    marker = json.loads((tmp_path / "run" / "hjb-run.json").read_text())
    assert code == (0 if marker["status"] == "converged" else 1)
    assert marker["transitions"] == 1500 and marker["data"] == str((tmp_path / "data.npz").resolve())


@pytest.mark.parametrize("method, temperature", [("q", 0.0), ("q", 0.5), ("td", 0.0)])
def test_weights_round_trip(tmp_path, method, temperature):
    source = write(tmp_path / "env.py", LQR_ENV)
    env, settings = load_environment(source)
    settings = settings.replace(method=method, temperature=temperature, steps=4, window=2)
    data = collect_transitions(env, 400, np.random.default_rng(0), 20)
    run = LearnedRun(learn(data, env.domain, env.action_low, env.action_high, env.discount, settings, False), env)
    loaded = load_run(save_learned(run, tmp_path / "run", source, seconds=1.0))
    x = env.domain.grid(9)
    np.testing.assert_array_equal(loaded.value(x), run.value(x))
    np.testing.assert_array_equal(loaded.action(x), run.action(x))
    np.testing.assert_array_equal(loaded.solution.policy_variance(), run.solution.policy_variance())
    assert loaded.solution.method == method and loaded.status == run.status


def test_gymnasium_run_exports_but_does_not_simulate(tmp_path, capsys):
    source = write(tmp_path / "env.py", PENDULUM_ENV)
    env, settings = load_environment(source)
    data = collect_transitions(env, 200, np.random.default_rng(0), 20)
    solution = learn(data, env.domain, env.action_low, env.action_high, env.discount, settings.replace(steps=2), False)
    run = save_learned(LearnedRun(solution, env), tmp_path / "run", source, seconds=1.0)
    assert main(["export", str(run), "--points", "3", "--format", "netcdf", "--out", str(tmp_path / "g.nc")]) == 0
    line = _fails(["simulate", str(run), "--x0", "1", "0", "0", "--out", str(tmp_path / "sim")], capsys)
    assert "steps only from the states its own reset gave" in line and not (tmp_path / "sim").exists()


def _npz(path, n=100, d=1, m=1, **changes):
    arrays = {"x": np.zeros((n, d)), "a": np.zeros((n, m)), "r": np.zeros(n), "x_next": np.zeros((n, d)),
              "dt": np.full(n, 0.01), **changes}
    np.savez(path, **arrays)
    return str(path)


BAD_FILES = {"no env": "x = 1\n", "not an env": "env = 3\n", "wrong step": WRONG_STEP,
             "discrete gym": "from hjb.learning.adapters import GymnasiumEnvironment\n"
                             "env = GymnasiumEnvironment('CartPole-v1')\n"}
BAD_DATA = {"nan data": {"x": np.full((100, 1), np.nan)}, "shapes": {"a": np.zeros((99, 1))}, "dt": {"dt": np.zeros(100)},
            "d and m": {"d": 2}, "data and transitions": {}}
BAD_INPUTS = {
    "no env": ([], "defines no module-level `env`"),
    "not an env": ([], "`env` is a int; expected an hjb.learning Environment"),
    "wrong step": ([], "returned x_next of shape (4, 2); expected (4, 1)"),
    "discrete gym": ([], "need a gymnasium Box action space"),
    "nan data": ([], "NaN/inf in 'x'"),
    "shapes": ([], "transitions need x (N, d)"),
    "dt": ([], "transitions need dt > 0"),
    "d and m": ([], "transitions with d = 2, m = 1; environment 'lqr1d' has d = 1, m = 1"),
    "transitions": (["--transitions", "0"], "transitions must be a positive integer"),
    "method": (["--method", "sarsa"], "unknown method 'sarsa'; expected one of q, td"),
    "temperature": (["--temperature", "-1"], "temperature must be a finite number ≥ 0"),
    "td temperature": (["--method", "td", "--temperature", "0.5"], "use method 'q' for a temperature > 0"),
    "data and transitions": (["--transitions", "10"], "expected one of them"),
    "missing data": (["--data", "none.npz"], "cannot read transitions"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_exits_2_and_writes_nothing(tmp_path, capsys, monkeypatch, case):
    monkeypatch.chdir(tmp_path)
    env = write(tmp_path / "env.py", BAD_FILES.get(case, LQR_ENV))
    args, message = BAD_INPUTS[case]
    if case in BAD_DATA:
        args = ["--data", _npz(tmp_path / "d.npz", **BAD_DATA[case]), *args]
    line = _fails(["learn", str(env), "--out", str(tmp_path / "run"), *args], capsys)
    assert message in line, line
    if case in BAD_FILES:
        assert line.startswith(f"hjb: error: environment file {env}"), line
    if case in BAD_DATA and case != "data and transitions":
        assert line.startswith(f"hjb: error: --data {tmp_path / 'd.npz'}: "), line
    assert not (tmp_path / "run").exists()


def test_out_that_is_not_a_run_is_refused(tmp_path, capsys):
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "notes.txt").write_text("mine")
    line = _fails(["learn", str(write(tmp_path / "env.py", LQR_ENV)), "--out", str(taken)], capsys)
    assert "is not an hjb run directory" in line and sorted(p.name for p in taken.iterdir()) == ["notes.txt"]
