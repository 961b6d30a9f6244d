"""`hjb export --at / --slice` and the grid limit, in process on hand-built runs (no training): the values equal the
grid export's and the network's; each bad input → exit 2, one `hjb: error: …` line, nothing written; a grid over
MAX_GRID_POINTS is refused by `hjb export` and `hjb sweep` alike."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from tiny_solver import LQR2D_FILE, SETTINGS_LINE, error_line, hand_built, run_cli, write

from hjb.cli import main
from hjb.io.pdefile import load_problem
from hjb.io.rundir import save_run
from hjb.settings import FiniteHorizonSettings
from hjb.solvers.finite_horizon import TimedPolicy, value_network
from hjb.solvers.solution import Solution

LQR7D_FILE = (
    "import numpy as np\nfrom hjb.pdes import StochasticLQR\nfrom hjb.settings import SolverSettings\n"
    "problem = StochasticLQR(A=-0.5 * np.eye(7), B=np.eye(7), Q=np.eye(7), R=np.eye(7), D=0.3 * np.eye(7),\n"
    "                        discount=0.1, name='lqr7d')\n" + SETTINGS_LINE
)
DIFFUSION2D_FILE = (
    "import numpy as np\nfrom hjb.pdes.data_laws import GaussianMixture\n"
    "from hjb.pdes.diffusion_model import DiffusionModel\nfrom hjb.pdes.noising import VPNoising\n"
    "from hjb.settings import FiniteHorizonSettings\n"
    "problem = DiffusionModel(GaussianMixture([1.0], [[0.0, 0.5]], [np.diag([0.3, 0.2])]), VPNoising(0.5, 4.0, 2.0),\n"
    "                         name='mix2d')\n"
    "settings = FiniteHorizonSettings(width=8, depth=1)\n"
)
SWEEP7D_FILE = (
    "import numpy as np\nfrom hjb.pdes import StochasticLQR\n"
    "def make_problem(discount):\n"
    "    return StochasticLQR(A=-0.5 * np.eye(7), B=np.eye(7), Q=np.eye(7), R=np.eye(7), D=0.3 * np.eye(7),\n"
    "                         discount=discount)\n"
)


def _run(root, name: str, source: str):
    """A run directory of the file's problem with an untrained, seeded network (no training)."""
    path = write(root / f"{name}.py", source)
    problem, settings = load_problem(path)
    if settings is not None and isinstance(settings, FiniteHorizonSettings):
        torch.manual_seed(0)
        net = value_network(problem, settings, 1.0)
        solution = Solution(problem, net, TimedPolicy(problem, net), [], settings, status="not_converged")
    else:
        solution = hand_built(problem)
    return save_run(solution, root / name, path)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    return {"lqr2d": _run(root, "lqr2d", LQR2D_FILE), "lqr7d": _run(root, "lqr7d", LQR7D_FILE),
            "mix2d": _run(root, "mix2d", DIFFUSION2D_FILE)}


def _ok(args: list[str], capsys) -> str:
    assert main(args) == 0
    return capsys.readouterr().out


def _fails(args: list[str], capsys) -> str:
    """Run `hjb ARGS` in process; assert exit 2 and a single `hjb: error:` line; return the line."""
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("hjb: error: "), err
    return err[0]


def test_at_the_grid_points_gives_the_grid_export(runs, tmp_path, capsys):
    run = runs["lqr2d"]
    _ok(["export", str(run), "--points", "5", "--out", str(tmp_path / "grid.npz")], capsys)
    with np.load(tmp_path / "grid.npz") as grid:
        rows = np.arange(0, 25, 3)
        np.save(tmp_path / "pts.npy", grid["x"][rows])
        out = run / "points.npz"  # the default output
        assert _ok(["export", str(run), "--at", str(tmp_path / "pts.npy")], capsys).strip() == f"wrote {out}"
        with np.load(out) as at:
            for key in ("x", "value", "policy", "hjb_residual"):
                np.testing.assert_allclose(at[key], grid[key][rows], rtol=1e-12, atol=1e-12)
            assert json.loads(str(at["meta"]))["source"] == str(tmp_path / "pts.npy")
    out.unlink()


def test_at_space_time_points_of_a_finite_horizon_run(runs, tmp_path, capsys):
    run = runs["mix2d"]
    _ok(["export", str(run), "--points", "3", "--times", "2", "--out", str(tmp_path / "grid.npz")], capsys)
    with np.load(tmp_path / "grid.npz") as grid:
        np.save(tmp_path / "pts.npy", np.column_stack([grid["x"], grid["t"]]))
        _ok(["export", str(run), "--at", str(tmp_path / "pts.npy"), "--format", "netcdf",
             "--out", str(tmp_path / "at.nc")], capsys)
        import xarray as xr

        with xr.open_dataset(tmp_path / "at.nc", engine="scipy") as ds:
            assert dict(ds.sizes) == {"point": 18, "action": 2}
            np.testing.assert_array_equal(ds["t"].values, grid["t"])
            np.testing.assert_allclose(ds["value"].values, grid["value"], rtol=1e-12, atol=1e-12)


def test_slice_defaults_and_options(runs, tmp_path, capsys):
    run = runs["lqr7d"]  # d = 7: no full grid, but a slice
    out = run / "slice.npz"
    _ok(["export", str(run), "--slice", "6,2"], capsys)
    with np.load(out) as data:
        x = data["x"]
        assert x.shape == (41 * 41, 7) and np.all(x[:, [0, 1, 3, 4, 5]] == 0.0)  # the box's centre
        assert json.loads(str(data["meta"]))["axes"] == [6, 2]
    out.unlink()
    _ok(["export", str(run), "--slice", "0,1", "--through", "-1", "0", "0.5", "0", "0", "0", "1.5", "--points", "4",
         "--format", "csv", "--out", str(tmp_path / "s.csv")], capsys)
    lines = (tmp_path / "s.csv").read_text().splitlines()
    assert lines[1].startswith("x0,x1,x2,") and len(lines) == 2 + 16
    table = np.loadtxt(lines[2:], delimiter=",")
    np.testing.assert_array_equal(table[:, 2:7], np.tile([0.5, 0, 0, 0, 1.5], (16, 1)))


def test_a_finite_horizon_slice_at_a_time_in_netcdf(runs, tmp_path, capsys):
    import xarray as xr

    _ok(["export", str(runs["mix2d"]), "--slice", "1,0", "--time", "1.5", "--points", "5", "--format", "netcdf",
         "--out", str(tmp_path / "s.nc")], capsys)
    with xr.open_dataset(tmp_path / "s.nc", engine="scipy") as ds:
        assert ds["value"].dims == ("x1", "x0") and float(ds["t"]) == 1.5
        assert json.loads(ds.attrs["meta"])["time"] == 1.5


def _save(path, array):
    np.save(path, array)
    return path


BAD = [
    ("lqr2d", ["--at", "{tmp}/none.npy"], "--at {tmp}/none.npy does not exist or is not a file; expected a .npy file"),
    ("lqr2d", ["--at", "{tmp}/text.npy"], "--at {tmp}/text.npy is not a loadable .npy file"),
    ("lqr2d", ["--at", "{tmp}/flat.npy"], "--at {tmp}/flat.npy has shape (4,); expected a non-empty 2-D array"),
    ("lqr2d", ["--at", "{tmp}/three.npy"], "--at {tmp}/three.npy has 3 columns; expected d = 2 columns"),
    ("mix2d", ["--at", "{tmp}/two.npy"], "--at {tmp}/two.npy has 2 columns; expected d + 1 = 3 columns (x0..x1, then"),
    ("lqr2d", ["--at", "{tmp}/nan.npy"], "1 of the 2 rows in --at {tmp}/nan.npy hold NaN or inf; expected finite"),
    ("lqr2d", ["--at", "{tmp}/out.npy"], "1 of the 2 points in --at {tmp}/out.npy lie outside the box lo=[-2, -2], "
                                         "hi=[2, 2]; expected points in the domain"),
    ("lqr2d", ["--at", "{tmp}/two.npy", "--slice", "0,1"], "give --at POINTS.npy or --slice I,J, not both"),
    ("lqr2d", ["--at", "{tmp}/two.npy", "--points", "5"], "--points sets a grid's points per axis; --at exports"),
    ("mix2d", ["--slice", "0,1", "--times", "3"], "--times sets the grid's times"),
    ("lqr2d", ["--through", "0,0"], "--through and --time apply to --slice only"),
    ("lqr2d", ["--slice", "0,2"], "--slice '0,2' does not name two different state axes I,J in 0..1"),
    ("lqr2d", ["--slice", "1,1"], "--slice '1,1' does not name two different state axes"),
    ("lqr2d", ["--slice", "0,1", "--through", "0"], "--through gives 1 number(s); expected d = 2"),
    ("lqr2d", ["--slice", "0,1", "--through=-3,0"], "--through [-3, 0] lies outside the box lo=[-2, -2], hi=[2, 2]"),
    ("lqr2d", ["--slice", "0,1", "--time", "1"], "--time applies to finite-horizon runs only"),
    ("mix2d", ["--slice", "0,1", "--time", "3"], "--time 3 is outside [0, 2]; expected a time in the run's horizon"),
    ("lqr7d", [], "the export grid of 11^7 = 1.95e7 points exceeds MAX_GRID_POINTS = 2000000 (hjb.io.export); use "
                  "--points 7 or fewer, or export chosen points with `hjb export RUN --at POINTS.npy` or a 2-D slice "
                  "with `hjb export RUN --slice I,J`"),
    ("mix2d", ["--points", "1000", "--times", "2001"], "the export grid of 1000^2 × 2001 times = 2.00e9 points"),
]


@pytest.mark.parametrize("run, args, message", BAD)
def test_bad_input_exits_2_and_writes_nothing(runs, tmp_path, capsys, run, args, message):
    (tmp_path / "text.npy").write_text("0, 0\n")
    _save(tmp_path / "flat.npy", np.zeros(4))
    _save(tmp_path / "three.npy", np.zeros((2, 3)))
    _save(tmp_path / "two.npy", np.zeros((2, 2)))
    _save(tmp_path / "nan.npy", np.array([[0.0, np.nan], [0.0, 0.0]]))
    _save(tmp_path / "out.npy", np.array([[0.0, 0.0], [0.0, 2.5]]))
    before = sorted(tmp_path.iterdir()), sorted(runs[run].iterdir())
    args = [a.format(tmp=tmp_path) for a in args]
    for fmt in ("npz", "netcdf"):
        line = _fails(["export", str(runs[run]), *args, "--format", fmt], capsys)
        assert line.startswith("hjb: error: " + message.format(tmp=tmp_path)), line
    assert (sorted(tmp_path.iterdir()), sorted(runs[run].iterdir())) == before


def test_the_grid_limit_in_a_fresh_process(runs, tmp_path):
    result = run_cli("export", str(runs["lqr7d"]), "--out", str(tmp_path / "g.npz"))
    assert result.returncode == 2 and "exceeds MAX_GRID_POINTS" in error_line(result)
    assert list(tmp_path.iterdir()) == []


def test_sweep_refuses_a_grid_over_the_limit_before_any_solve(tmp_path, capsys):
    path = write(tmp_path / "lqr7d_sweep.py", SWEEP7D_FILE)
    line = _fails(["sweep", str(path), "--param", "discount=0.1,0.2", "--out", str(tmp_path / "out"), "--quiet"],
                  capsys)
    assert "the export grid of 11^7 = 1.95e7 points exceeds MAX_GRID_POINTS" in line
    assert not (tmp_path / "out").exists()
