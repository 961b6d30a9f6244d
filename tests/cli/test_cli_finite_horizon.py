"""`hjb solve / export / sample` on a finite-horizon problem (a 1-D DiffusionModel), end to end: one solved run shared
by the tests; the (t, x) grid's order and the exact terminal condition W(·, T) = log p_data; samples; bad input →
exit 2, one `hjb: error: …` line, nothing written."""
from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
import torch
import xarray as xr
from tiny_solver import LQR1D_FILE, hand_built, run_cli, write

from hjb.cli import main
from hjb.io.rundir import load_run, save_run
from hjb.pdes import seed_lqr
from hjb.solvers.solution import Solution

HEADER = (
    "import numpy as np\n"
    "from hjb.pdes.data_laws import GaussianMixture, SampleLaw\n"
    "from hjb.pdes.diffusion_model import DiffusionModel\n"
    "from hjb.pdes.noising import VPNoising\n"
    "from hjb.settings import FiniteHorizonSettings\n"
)
MIXTURE = "GaussianMixture([0.3, 0.7], [[-1.5], [1.0]], [[[0.09]], [[0.25]]])"
DIFFUSION_FILE = HEADER + (
    f"problem = DiffusionModel({MIXTURE}, VPNoising(0.5, 4.0, 2.0), name='mix1d')\n"
    "settings = FiniteHorizonSettings(width=16, collocation=128, adam_steps_first=200, adam_steps=50, pde_lbfgs_steps=50,\n"
    "                          max_iterations=2)\n"
)
T = 2.0


def log_p_data(x: np.ndarray) -> np.ndarray:
    """log(0.3 N(x; −1.5, 0.3²) + 0.7 N(x; 1, 0.5²)) (n,) for x (n,), by hand."""
    def normal(mean, sd):
        return np.exp(-0.5 * ((x - mean) / sd) ** 2) / (sd * math.sqrt(2 * math.pi))

    return np.log(0.3 * normal(-1.5, 0.3) + 0.7 * normal(1.0, 0.5))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One `hjb solve` of the tiny diffusion file (a few seconds), shared by every test that only reads it."""
    root = tmp_path_factory.mktemp("fh")
    write(root / "mix.py", DIFFUSION_FILE)
    result = run_cli("solve", "mix.py", "--out", "run", cwd=root, timeout=300, progress=True)
    status = json.loads((root / "run" / "hjb-run.json").read_text())["status"]
    assert result.returncode == (0 if status == "converged" else 1), result.stderr  # exit 1: run written, not converged
    assert f"solved mix1d (finite horizon T = 2): 2 PI iterations, status {status}" in result.stdout
    assert "PI 2/2" in result.stderr  # the solver's progress lines
    return root / "run"


def test_run_directory_marker_and_round_trip(run):
    marker = json.loads((run / "hjb-run.json").read_text())
    assert marker["format_version"] == 2 and marker["kind"] == "finite_horizon" and marker["horizon"] == T
    assert marker["problem"]["kind"] == "DiffusionModel" and marker["iterations"] == 2
    assert sorted(p.name for p in run.iterdir()) == ["convergence.png", "history.json", "hjb-run.json", "problem.py",
                                                   "settings.json", "weights.pt"]
    solution = load_run(run)
    assert isinstance(solution, Solution) and solution.finite_horizon and solution.status == marker["status"]
    assert len(solution.history) == 2 and solution.settings.width == 16


def test_export_npz_order_and_exact_terminal_condition(run, tmp_path):
    N, N_t = 9, 5
    assert main(["export", str(run), "--points", str(N), "--times", str(N_t), "--out", str(tmp_path / "g.npz")]) == 0
    solution = load_run(run)
    domain = solution.problem.domain
    with np.load(tmp_path / "g.npz") as data:
        assert sorted(data.files) == ["hjb_residual", "meta", "policy", "t", "value", "x"]
        t, x, value = data["t"], data["x"], data["value"]
        assert t.shape == (N_t * N,) and x.shape == (N_t * N, 1) and value.shape == (N_t * N,)
        assert data["policy"].shape == (N_t * N, 1) and data["hjb_residual"].shape == (N_t * N,)
        meta = json.loads(str(data["meta"]))
        residual = data["hjb_residual"]
    # time slowest, then the space grid: exactly SpaceTime.grid, and by hand
    np.testing.assert_array_equal(np.column_stack([x, t]), domain.grid(N, N_t))
    np.testing.assert_array_equal(t, np.repeat(np.linspace(0.0, T, N_t), N))
    np.testing.assert_array_equal(x[:, 0], np.tile(np.linspace(-4.0, 4.0, N), N_t))
    assert meta["times"] == N_t and meta["horizon"] == T and "time slowest" in meta["order"]
    # W(·, T) = g is built into the network: bit for bit the data's log-density, and equal to it by hand
    last = slice((N_t - 1) * N, None)
    terminal = solution.problem.terminal(torch.as_tensor(x[last]))[:, 0].numpy()
    np.testing.assert_array_equal(value[last], terminal)
    np.testing.assert_allclose(value[last], log_p_data(x[last, 0]), rtol=1e-12)
    assert np.all(np.isfinite(residual)) and np.all(np.isfinite(value))


def test_export_loads_back_in_a_fresh_process(run, tmp_path):
    out = tmp_path / "g.npz"
    result = run_cli("export", str(run), "--points", "7", "--times", "3", "--out", str(out))
    assert result.returncode == 0 and result.stdout.strip() == f"wrote {out}", result.stderr
    code = (
        "import sys, numpy as np\nfrom hjb.io.rundir import load_run\n"
        "s = load_run(sys.argv[1])\nd = np.load(sys.argv[2])\n"
        "xt = np.column_stack([d['x'], d['t']])\n"
        "np.save(sys.argv[3], np.stack([s.value(xt), s.action(xt)[:, 0], s.hjb_residual(xt)]))\n"
    )
    subprocess.run([sys.executable, "-c", code, str(run), str(out), str(tmp_path / "again.npy")], check=True)
    again = np.load(tmp_path / "again.npy")
    with np.load(out) as data:
        np.testing.assert_allclose(again[0], data["value"], rtol=1e-12)
        np.testing.assert_allclose(again[1], data["policy"][:, 0], rtol=1e-12)
        np.testing.assert_allclose(again[2], data["hjb_residual"], rtol=1e-10, atol=1e-12)


def test_export_csv_and_netcdf(run, tmp_path):
    N, N_t = 5, 3
    assert main(["export", str(run), "--points", str(N), "--times", str(N_t), "--format", "csv",
                 "--out", str(tmp_path / "g.csv")]) == 0
    lines = (tmp_path / "g.csv").read_text().splitlines()
    assert lines[0].startswith("# meta: ") and lines[1] == "t,x0,value,a0,hjb_residual"
    table = np.loadtxt(tmp_path / "g.csv", delimiter=",", skiprows=2)
    assert table.shape == (N_t * N, 5)
    np.testing.assert_array_equal(table[:, 0], np.repeat([0.0, 1.0, 2.0], N))
    np.testing.assert_allclose(table[-N:, 2], log_p_data(table[-N:, 1]), rtol=1e-12)
    assert main(["export", str(run), "--points", str(N), "--times", str(N_t), "--format", "netcdf",
                 "--out", str(tmp_path / "g.nc")]) == 0
    with xr.open_dataset(tmp_path / "g.nc", engine="scipy") as ds:
        assert ds["value"].dims == ("t", "x0") and ds["policy"].dims == ("t", "x0", "action")
        np.testing.assert_array_equal(ds["t"].values, [0.0, 1.0, 2.0])
        np.testing.assert_allclose(ds["value"].values, table[:, 2].reshape(N_t, N), rtol=1e-15)


def test_export_default_times(run, tmp_path):
    assert main(["export", str(run), "--points", "3", "--out", str(tmp_path / "g.npz")]) == 0
    with np.load(tmp_path / "g.npz") as data:
        np.testing.assert_allclose(np.unique(data["t"]), np.linspace(0.0, T, 11))


@pytest.mark.parametrize("suffix", [".npy", ".npz", ".csv"])
def test_sample(run, tmp_path, capsys, suffix):
    out = tmp_path / f"s{suffix}"
    assert main(["sample", str(run), "--n", "300", "--steps", "40", "--seed", "3", "--out", str(out)]) == 0
    if suffix == ".npy":
        samples = np.load(out)
    elif suffix == ".npz":
        with np.load(out) as data:
            samples = data["samples"]
    else:
        assert out.read_text().splitlines()[0] == "x0"
        samples = np.loadtxt(out, delimiter=",", skiprows=1, ndmin=2)
    assert samples.shape == (300, 1) and np.all(np.isfinite(samples))
    line = capsys.readouterr().out.strip()
    assert line == f"sampled n=300 (d=1, 40 steps, seed 3): mean [{samples.mean():.4g}]; wrote {out}"
    if suffix == ".npy":  # the same seed gives the same samples
        assert main(["sample", str(run), "--n", "300", "--steps", "40", "--seed", "3", "--out",
                     str(tmp_path / "again.npy")]) == 0
        np.testing.assert_array_equal(np.load(tmp_path / "again.npy"), samples)


def _fails(args: list[str], capsys) -> str:
    """Run `hjb ARGS` in process; assert exit 2 and a single `hjb: error:` line; return the line."""
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("hjb: error: "), err
    return err[0]


@pytest.fixture(scope="module")
def lqr_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("lqr")
    return save_run(hand_built(seed_lqr()), root / "run", write(root / "lqr.py", LQR1D_FILE))


@pytest.mark.parametrize("n, steps, name, message", [
    ("0", "10", "s.npy", "--n must be a positive integer; got 0"),
    ("-5", "10", "s.npy", "--n must be a positive integer; got -5"),
    ("10", "0", "s.npy", "--steps must be a positive integer; got 0"),
    ("10", "10", "s.txt", "cannot write samples to {out}: unknown extension '.txt'; expected one of .npy, .npz, .csv"),
    ("10", "10", "s", "cannot write samples to {out}: unknown extension '(none)'; expected one of .npy, .npz, .csv"),
])
def test_sample_bad_arguments(run, tmp_path, capsys, n, steps, name, message):
    out = tmp_path / name
    line = _fails(["sample", str(run), "--n", n, "--steps", steps, "--out", str(out)], capsys)
    assert line == "hjb: error: " + message.format(out=out)
    assert list(tmp_path.iterdir()) == []


def test_sample_needs_a_diffusion_run(lqr_run, tmp_path, capsys):
    line = _fails(["sample", str(lqr_run), "--n", "10", "--out", str(tmp_path / "s.npy")], capsys)
    assert line == (f"hjb: error: run directory {lqr_run} holds problem 'lqr1d', a StochasticLQR; "
                    "`hjb sample` needs the run of a DiffusionModel")
    assert list(tmp_path.iterdir()) == []


def test_sample_missing_run_directory(tmp_path, capsys):
    line = _fails(["sample", str(tmp_path / "nope"), "--n", "10", "--out", str(tmp_path / "s.npy")], capsys)
    assert line == f"hjb: error: run directory {tmp_path / 'nope'} does not exist; expected the output of `hjb solve`"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("times", ["1", "0"])
def test_export_needs_two_times(run, tmp_path, capsys, times):
    line = _fails(["export", str(run), "--times", times, "--out", str(tmp_path / "g.npz")], capsys)
    assert f"export needs at least 2 times (--times: evenly spaced over [0, T], both ends included); got {times}" in line
    assert list(tmp_path.iterdir()) == []


def test_export_times_on_an_infinite_horizon_run(lqr_run, tmp_path, capsys):
    line = _fails(["export", str(lqr_run), "--times", "3", "--out", str(tmp_path / "g.npz")], capsys)
    assert "--times applies to runs with time only (finite-horizon, or a residual PDE on a SpaceTime); problem 'lqr1d' " \
           "has no time" in line
    assert list(tmp_path.iterdir()) == []


def test_infinite_horizon_markers_without_a_kind_still_load(lqr_run, tmp_path):
    """Runs written before finite-horizon runs existed have no "kind": they are infinite-horizon, version 1."""
    marker = json.loads((lqr_run / "hjb-run.json").read_text())
    assert marker["format_version"] == 1 and marker["kind"] == "infinite_horizon"
    old = tmp_path / "old"
    old.mkdir()
    for item in lqr_run.iterdir():
        (old / item.name).write_bytes(item.read_bytes())
    del marker["kind"]
    (old / "hjb-run.json").write_text(json.dumps(marker))
    x = seed_lqr().domain.grid(5)
    np.testing.assert_array_equal(load_run(old).value(x), load_run(lqr_run).value(x))
    marker.update(format_version=2, kind="finite_horizon")  # a marker that disagrees with its problem.py
    (old / "hjb-run.json").write_text(json.dumps(marker))
    with pytest.raises(Exception, match="marked finite-horizon but its problem.py declares a StochasticLQR"):
        load_run(old)


# Item 7: PDE files whose DiffusionModel is not well posed; `hjb solve` names what is wrong, writes nothing.
BAD_FILES = {
    "negative_weights": ("problem = DiffusionModel(GaussianMixture([1.2, -0.2], [[0.0], [1.0]], [[[1.0]], [[1.0]]]), "
                         "VPNoising())\n",
                         "mixture weights must be ≥ 0 and sum to 1 (a density); got [1.2, -0.2]"),
    "non_psd_covariance": ("problem = DiffusionModel(GaussianMixture([1.0], [[0.0, 0.0]], [[[1.0, 2.0], [2.0, 1.0]]]), "
                           "VPNoising())\n",
                           "mixture covariance 0 must be symmetric positive definite; got [[1.0, 2.0], [2.0, 1.0]]"),
    "zero_horizon": (f"problem = DiffusionModel({MIXTURE}, VPNoising(0.5, 4.0, horizon=0.0))\n",
                     "the horizon T must be a positive number; got 0.0"),
    "negative_horizon": (f"problem = DiffusionModel({MIXTURE}, VPNoising(0.5, 4.0, horizon=-1.0))\n",
                         "the horizon T must be a positive number; got -1.0"),
    "non_positive_beta": (f"problem = DiffusionModel({MIXTURE}, VPNoising(0.1, -1.0, 2.0))\n",
                          "the β schedule must be positive on [0, T]; got β_min=0.1, β_max=-1.0"),
    "zero_beta": (f"problem = DiffusionModel({MIXTURE}, VPNoising(0.0))\n",
                  "the β schedule must be positive on [0, T]; got β_min=0.0, β_max=0.0"),
    "nan_samples": ("problem = DiffusionModel(SampleLaw(np.array([[0.0], [np.nan], [1.0]])), VPNoising())\n",
                    "data samples contain NaN or inf (1 of 3 rows); expected finite values"),
    "samples_of_the_wrong_shape": ("problem = DiffusionModel(SampleLaw(np.zeros((4, 2, 2))), VPNoising())\n",
                                   "data samples must have shape (n, d) with n ≥ 2; got (4, 2, 2)"),
    "one_sample": ("problem = DiffusionModel(SampleLaw(np.zeros((1, 2))), VPNoising())\n",
                   "data samples must have shape (n, d) with n ≥ 2; got (1, 2)"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_ill_posed_diffusion_model_file(tmp_path, capsys, monkeypatch, name):
    source, message = BAD_FILES[name]
    path = write(tmp_path / f"{name}.py", HEADER + source)
    monkeypatch.chdir(tmp_path)
    line = _fails(["solve", str(path), "--out", str(tmp_path / "out"), "--quiet"], capsys)
    assert line == f"hjb: error: PDE file {path}: {message}"
    assert not (tmp_path / "out").exists() and not (tmp_path / "runs").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_ill_posed_file_through_the_command_line(tmp_path):
    """The same, as a user runs it: `hjb solve` in its own process."""
    write(tmp_path / "bad.py", HEADER + BAD_FILES["negative_weights"][0])
    result = run_cli("solve", "bad.py", "--out", "out", cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip() == f"hjb: error: PDE file bad.py: {BAD_FILES['negative_weights'][1]}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.py"]


def test_problem_of_another_type_names_both_kinds(tmp_path, capsys):
    path = write(tmp_path / "wrong.py", HEADER + f"problem = {MIXTURE}\n")
    line = _fails(["solve", str(path), "--out", str(tmp_path / "out")], capsys)
    assert "`problem` is a GaussianMixture; expected an hjb ControlProblem" in line
    assert "FiniteHorizonProblem (e.g. DiffusionModel(...))" in line
    assert not (tmp_path / "out").exists()
