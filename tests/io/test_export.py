"""hjb.io.export and export_points: V, α and R_HJB on Box.grid(N), at given points and on 2-D slices, as npz, csv
and netCDF; bad names, sizes, points and slices; the grid limit; atomic writes."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import xarray as xr
from tiny_solver import LQR1D_FILE, hand_built, write

from hjb.errors import ProblemError, UnknownNameError
from hjb.geometry.box import Box
from hjb.geometry.spacetime import SpaceTime
from hjb.io import export
from hjb.io.export import evaluate, export_grid, export_run
from hjb.io.export_points import export_at, export_slice, read_points
from hjb.io.rundir import save_run
from hjb.pdes import Merton, StochasticLQR, seed_lqr
from hjb.pdes.data_laws import GaussianMixture
from hjb.pdes.diffusion_model import DiffusionModel
from hjb.pdes.noising import VPNoising
from hjb.settings import FiniteHorizonSettings
from hjb.solvers.finite_horizon import TimedPolicy, value_network
from hjb.solvers.solution import Solution


def _lqr2d():
    return StochasticLQR(A=[[-0.5, 0.4], [-0.3, -0.8]], B=[[1.0, 0.2], [0.0, 0.7]], Q=np.eye(2),
                         R=np.diag([0.2, 0.1]), D=0.3 * np.eye(2), discount=0.1, name="lqr2d")


@pytest.fixture(scope="module")
def solution2d():
    return hand_built(_lqr2d())


@pytest.fixture(scope="module")
def merton():
    return hand_built(Merton())


def _leftovers(directory) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if "hjb-tmp" in p.name)


def test_npz_keys_and_shapes(tmp_path, solution2d):
    N = 7
    out = export_grid(solution2d, N, "npz", tmp_path / "grid.npz")
    with np.load(out) as data:
        assert sorted(data.files) == ["hjb_residual", "meta", "policy", "value", "x"]
        x = data["x"]
        assert x.shape == (N**2, 2) and data["value"].shape == (N**2,)
        assert data["policy"].shape == (N**2, 2) and data["hjb_residual"].shape == (N**2,)
        np.testing.assert_array_equal(x, solution2d.problem.domain.grid(N))
        np.testing.assert_allclose(data["value"], solution2d.value(x))
        np.testing.assert_allclose(data["policy"], solution2d.action(x))
        np.testing.assert_allclose(data["hjb_residual"], solution2d.hjb_residual(x))
        meta = json.loads(str(data["meta"]))
    assert meta["problem"] == "lqr2d" and meta["points_per_axis"] == N
    assert meta["parameters"]["parameters"]["discount"] == 0.1
    assert _leftovers(tmp_path) == []


def test_csv_header_meta_and_rows(tmp_path, merton):
    N = 5
    out = export_grid(merton, N, "csv", tmp_path / "grid.csv")
    lines = out.read_text().splitlines()
    assert lines[0].startswith("# meta: ")
    meta = json.loads(lines[0][len("# meta: "):])
    assert meta["problem"] == "merton" and meta["points_per_axis"] == N
    assert lines[1] == "wealth,value,pi,consumption_rate,hjb_residual"
    table = np.loadtxt(out, delimiter=",", skiprows=2)
    assert table.shape == (N, 5)
    x = merton.problem.domain.grid(N)
    np.testing.assert_allclose(table[:, 0], x[:, 0], rtol=1e-15)
    np.testing.assert_allclose(table[:, 1], merton.value(x), rtol=1e-15)


def test_netcdf_dims_coords_and_attrs(tmp_path, solution2d):
    N = 6
    out = export_grid(solution2d, N, "netcdf", tmp_path / "grid.nc")
    with xr.open_dataset(out, engine="scipy") as ds:
        assert dict(ds.sizes) == {"x0": N, "x1": N, "action": 2}
        assert ds["value"].dims == ("x0", "x1") and ds["hjb_residual"].dims == ("x0", "x1")
        assert ds["policy"].dims == ("x0", "x1", "action")
        np.testing.assert_allclose(ds["x0"].values, np.linspace(-2, 2, N))
        assert ds.attrs["problem"] == "lqr2d"
        assert json.loads(ds.attrs["meta"])["points_per_axis"] == N
        x = solution2d.problem.domain.grid(N)
        # first axis slowest: value[i, j] is V at (x0_i, x1_j)
        np.testing.assert_allclose(ds["value"].values.ravel(), solution2d.value(x))
        np.testing.assert_allclose(ds["policy"].values.reshape(-1, 2), solution2d.action(x))


def test_unknown_format_lists_the_valid_ones(tmp_path, solution2d):
    with pytest.raises(UnknownNameError) as exc:
        export_grid(solution2d, 5, "hdf5", tmp_path / "grid.h5")
    assert str(exc.value) == "unknown export format 'hdf5'; expected one of npz, csv, netcdf"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("points", [1, 0, -3])
def test_fewer_than_two_points_is_a_problem_error(tmp_path, solution2d, points):
    with pytest.raises(ProblemError, match="at least 2 grid points per axis"):
        export_grid(solution2d, points, "npz", tmp_path / "grid.npz")
    assert list(tmp_path.iterdir()) == []


def test_batched_evaluation_matches_one_batch(merton):
    x = merton.problem.domain.grid(11)
    whole = evaluate(merton, x, batch=len(x))
    batched = evaluate(merton, x, batch=3)
    for a, b in zip(whole, batched, strict=False):
        np.testing.assert_allclose(a, b)


def _failing_writer(path, data):
    path.write_bytes(b"partial")
    raise OSError("disk full")


def test_a_failing_write_leaves_no_partial_file(tmp_path, solution2d, monkeypatch):
    monkeypatch.setitem(export.WRITERS, "csv", _failing_writer)
    with pytest.raises(OSError, match="disk full"):
        export_grid(solution2d, 4, "csv", tmp_path / "grid.csv")
    assert list(tmp_path.iterdir()) == []


def test_a_failing_overwrite_keeps_the_old_file(tmp_path, solution2d, monkeypatch):
    out = export_grid(solution2d, 4, "npz", tmp_path / "grid.npz")
    before = out.read_bytes()
    monkeypatch.setitem(export.WRITERS, "npz", _failing_writer)
    with pytest.raises(OSError):
        export_grid(solution2d, 5, "npz", out)
    assert out.read_bytes() == before
    assert _leftovers(tmp_path) == []


def test_export_run_defaults(tmp_path):
    source = write(tmp_path / "lqr.py", LQR1D_FILE)
    run = save_run(hand_built(seed_lqr()), tmp_path / "run", source)
    out = export_run(run, fmt="csv")
    assert out == run / "grid.csv"
    assert len(out.read_text().splitlines()) == 2 + 101  # meta, header, default 101 points for d = 1
    assert export_run(run, 3, "netcdf").name == "grid.nc"
    assert export_run(run, 3, "npz", tmp_path / "elsewhere.npz").is_file()
    with pytest.raises(UnknownNameError):
        export_run(tmp_path / "not-a-run", 3, "xls")  # the format is checked before the run is read


# --- beyond the full grid: --at points, 2-D slices, and the grid limit (issue 12) ---------------------------------

def _lqr(d: int):
    return StochasticLQR(A=-0.5 * np.eye(d), B=np.eye(d), Q=np.eye(d), R=np.eye(d), D=0.3 * np.eye(d), discount=0.1,
                         name=f"lqr{d}d")


def _diffusion2d():
    return DiffusionModel(GaussianMixture([1.0], [[0.0, 0.5]], [np.diag([0.3, 0.2])]), VPNoising(0.5, 4.0, 2.0),
                          name="mix2d")


def finite_hand_built(problem) -> Solution:
    """A finite-horizon Solution with an untrained (seeded) network and the greedy TimedPolicy: no training."""
    torch.manual_seed(0)
    settings = FiniteHorizonSettings(width=8, depth=1)
    net = value_network(problem, settings, 1.0)
    return Solution(problem, net, TimedPolicy(problem, net), [], settings, status="not_converged")


@pytest.fixture(scope="module")
def solution3d():
    return hand_built(_lqr(3))


@pytest.fixture(scope="module")
def diffusion():
    return finite_hand_built(_diffusion2d())


KEYS = ("x", "value", "policy", "hjb_residual")


def test_at_the_grid_points_gives_the_grid_export_bit_for_bit(tmp_path, solution2d):
    with np.load(export_grid(solution2d, 7, "npz", tmp_path / "grid.npz")) as grid:
        with np.load(export_at(solution2d, grid["x"], "npz", tmp_path / "at.npz")) as at:
            assert sorted(at.files) == sorted(grid.files)
            for key in KEYS:
                np.testing.assert_array_equal(at[key], grid[key])
            meta = json.loads(str(at["meta"]))
    assert meta["layout"] == "points" and meta["points"] == 49 and meta["problem"] == "lqr2d"


def test_at_space_time_points_time_last_gives_the_grid_export(tmp_path, diffusion):
    with np.load(export_grid(diffusion, 4, "npz", tmp_path / "grid.npz", times=3)) as grid:
        points = np.column_stack([grid["x"], grid["t"]])  # time last, as SpaceTime.grid and evaluate()
        with np.load(export_at(diffusion, points, "npz", tmp_path / "at.npz")) as at:
            for key in KEYS + ("t",):
                np.testing.assert_array_equal(at[key], grid[key])


def test_at_in_csv_has_the_grid_columns_and_in_netcdf_a_point_dimension(tmp_path, diffusion):
    points = np.array([[0.1, -0.2, 0.0], [1.0, 2.0, 1.5], [-3.0, 0.5, 2.0]])
    lines = export_at(diffusion, points, "csv", tmp_path / "at.csv").read_text().splitlines()
    assert lines[1] == "t,x0,x1,value,a0,a1,hjb_residual" and len(lines) == 2 + 3
    np.testing.assert_array_equal(np.loadtxt(lines[2:], delimiter=",")[:, :3], points[:, [2, 0, 1]])
    with xr.open_dataset(export_at(diffusion, points, "netcdf", tmp_path / "at.nc"), engine="scipy") as ds:
        assert dict(ds.sizes) == {"point": 3, "action": 2}
        assert ds["value"].dims == ("point",) and ds["policy"].dims == ("point", "action")
        np.testing.assert_array_equal(ds["t"].values, points[:, 2])
        np.testing.assert_array_equal(ds["x1"].values, points[:, 1])
        np.testing.assert_array_equal(ds["value"].values, diffusion.value(points))


def test_slice_values_are_the_network_at_the_slice_points(tmp_path, solution3d):
    N, through = 5, [0.5, 1.0, -0.25]
    with np.load(export_slice(solution3d, "2,0", "npz", tmp_path / "s.npz", through, N)) as data:
        x = data["x"]
        assert x.shape == (N * N, 3) and np.all(x[:, 1] == 1.0)
        np.testing.assert_array_equal(x[:, 2], np.repeat(np.linspace(-2, 2, N), N))  # axis I = 2 slowest
        np.testing.assert_array_equal(x[:, 0], np.tile(np.linspace(-2, 2, N), N))
        np.testing.assert_array_equal(data["value"], solution3d.value(x))
        np.testing.assert_array_equal(data["policy"], solution3d.action(x))
        np.testing.assert_array_equal(data["hjb_residual"], solution3d.hjb_residual(x))
        meta = json.loads(str(data["meta"]))
    assert meta["layout"] == "slice" and meta["axes"] == [2, 0] and meta["through"] == [0.5, 1.0, -0.25]
    with xr.open_dataset(export_slice(solution3d, (2, 0), "netcdf", tmp_path / "s.nc", through, N),
                         engine="scipy") as ds:
        assert ds["value"].dims == ("x2", "x0") and ds["policy"].dims == ("x2", "x0", "action")
        assert float(ds["x1"]) == 1.0 and ds["x1"].dims == ()
        np.testing.assert_array_equal(ds["value"].values.ravel(), solution3d.value(x))


def test_the_default_slice_passes_through_the_centre_and_a_2d_slice_is_the_grid(tmp_path, solution2d, solution3d):
    with np.load(export_slice(solution3d, "0,1", "npz", tmp_path / "c.npz")) as data:
        assert data["x"].shape == (41 * 41, 3) and np.all(data["x"][:, 2] == 0.0)
    with np.load(export_grid(solution2d, 6, "npz", tmp_path / "g.npz")) as grid:
        with np.load(export_slice(solution2d, "0,1", "npz", tmp_path / "s.npz", points_per_axis=6)) as plane:
            for key in KEYS:
                np.testing.assert_array_equal(plane[key], grid[key])


def test_a_finite_horizon_slice_at_a_time(tmp_path, diffusion):
    with np.load(export_slice(diffusion, "1,0", "npz", tmp_path / "s.npz", "0,0.5", 4, time=0.5)) as data:
        assert np.all(data["t"] == 0.5) and data["x"].shape == (16, 2)
        points = np.column_stack([data["x"], data["t"]])
        np.testing.assert_array_equal(data["value"], diffusion.value(points))
    with xr.open_dataset(export_slice(diffusion, "0,1", "netcdf", tmp_path / "s.nc", points_per_axis=4),
                         engine="scipy") as ds:
        assert ds["value"].dims == ("x0", "x1") and float(ds["t"]) == 0.0  # default time 0


BAD_POINTS = [
    (np.zeros(3), r"the array has shape \(3,\); expected a non-empty 2-D array \(n, d = 2 columns"),
    (np.zeros((0, 2)), r"shape \(0, 2\); expected a non-empty 2-D array"),
    (np.zeros((4, 3)), r"the array has 3 columns; expected d = 2 columns \(x0..x1; an infinite-horizon run has no"),
    (np.array([[0.0, np.nan], [0.0, 0.0], [np.inf, 1.0]]), "2 of the 3 rows in the array hold NaN or inf"),
    (np.array([[0.0, 0.0], [2.5, 0.0], [0.0, -2.01]]),
     r"2 of the 3 points in the array lie outside the box lo=\[-2, -2\], hi=\[2, 2\]; expected points in the domain"),
]


@pytest.mark.parametrize("points, message", BAD_POINTS)
def test_bad_points_are_refused_and_nothing_is_written(tmp_path, solution2d, points, message):
    with pytest.raises(ProblemError, match=message):
        export_at(solution2d, points, "npz", tmp_path / "at.npz")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("points, message", [
    (np.zeros((2, 2)), r"the array has 2 columns; expected d \+ 1 = 3 columns \(x0..x1, then the time t\)"),
    (np.array([[0.0, 0.0, 2.5], [0.0, 0.0, -0.1], [0.0, 0.0, 1.0]]),
     r"2 of the 3 points in the array lie outside the box lo=\[.*\] × times \[0, 2\]"),
])
def test_bad_space_time_points_are_refused(tmp_path, diffusion, points, message):
    with pytest.raises(ProblemError, match=message):
        export_at(diffusion, points, "npz", tmp_path / "at.npz")
    assert list(tmp_path.iterdir()) == []


def test_read_points_refuses_what_is_not_a_numeric_npy_file(tmp_path):
    with pytest.raises(ProblemError, match="does not exist or is not a file; expected a .npy file"):
        read_points(tmp_path / "nope.npy")
    (tmp_path / "text.npy").write_text("0.1, 0.2\n")
    with pytest.raises(ProblemError, match="is not a loadable .npy file"):
        read_points(tmp_path / "text.npy")
    np.savez(tmp_path / "pts.npz", x=np.zeros((2, 2)))
    with pytest.raises(ProblemError, match="is not a loadable .npy file"):
        read_points(tmp_path / "pts.npz")
    np.save(tmp_path / "objects.npy", np.array([[0.0, None]], dtype=object))
    with pytest.raises(ProblemError, match="is not a loadable .npy file"):
        read_points(tmp_path / "objects.npy")
    np.save(tmp_path / "words.npy", np.array([["a", "b"]]))
    with pytest.raises(ProblemError, match="dtype <U1; expected real numbers"):
        read_points(tmp_path / "words.npy")
    np.save(tmp_path / "ints.npy", np.array([[1, 2]]))
    assert read_points(tmp_path / "ints.npy").tolist() == [[1, 2]]


@pytest.mark.parametrize("axes, through, time, points, message", [
    ("0,3", None, None, 5, r"--slice '0,3' does not name two different state axes I,J in 0..2"),
    ("1,1", None, None, 5, r"--slice '1,1' does not name two different"),
    ("1", None, None, 5, r"--slice '1' does not name two"),
    ("a,b", None, None, 5, r"--slice 'a,b' is not a pair of axis indices"),
    ((0, 1.5), None, None, 5, r"is not a pair of axis indices"),
    ("0,1", "1,2", None, 5, r"--through gives 2 number\(s\); expected d = 3"),
    ("0,1", ["1", "2,x"], None, 5, r"--through '1 2,x' is not a list of numbers"),
    ("0,1", [0.0, 0.0, 2.5], None, 5, r"--through \[0, 0, 2.5\] lies outside the box lo=\[-2, -2, -2\], hi=\[2,"),
    ("0,1", None, 0.5, 5, r"--time applies to finite-horizon runs only"),
    ("0,1", None, None, 1, r"at least 2 grid points per axis"),
    ("0,1", None, None, 1415, r"a slice of 1415² points exceeds MAX_GRID_POINTS = 2000000"),
])
def test_bad_slices_are_refused_and_nothing_is_written(tmp_path, solution3d, axes, through, time, points, message):
    with pytest.raises(ProblemError, match=message):
        export_slice(solution3d, axes, "npz", tmp_path / "s.npz", through, points, time)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("time", [2.5, -0.1, float("nan")])
def test_a_slice_time_outside_the_horizon_is_refused(tmp_path, diffusion, time):
    with pytest.raises(ProblemError, match=r"--time .* is outside \[0, 2\]; expected a time in the run's horizon"):
        export_slice(diffusion, "0,1", "npz", tmp_path / "s.npz", time=time)
    assert list(tmp_path.iterdir()) == []


def test_the_grid_limit_is_checked_in_integers():
    assert export.grid_size(10, 11) == 11**10 and export.grid_size(1, 1000, 3) == 3000
    export.check_grid_size(6, 11)  # the default grid up to d = 6 fits: 1.77·10⁶
    export.check_grid_size(1, 1000, 2000)  # exactly MAX_GRID_POINTS
    with pytest.raises(ProblemError, match=r"1000\^1 × 2001 times = 2001000 points exceeds MAX_GRID_POINTS"):
        export.check_grid_size(1, 1000, 2001)
    with pytest.raises(ProblemError, match=r"11\^7 = 1.95e7 points .*; use --points 7 or fewer, or export chosen "
                                           r"points with `hjb export RUN --at POINTS.npy` or a 2-D slice with "
                                           r"`hjb export RUN --slice I,J`$"):
        export.check_grid_size(7, 11)
    # no --points fits (2^400 is too many), so the message offers --at and --slice only
    with pytest.raises(ProblemError, match=r"11\^400 = 3.\d\de416 points .*MAX_GRID_POINTS = 2000000 "
                                           r"\(hjb.io.export\); export chosen points"):
        export.check_grid_size(400, 11)


def _no_grid(*args, **kwargs):
    raise AssertionError("the grid was built")


def test_a_grid_too_large_is_refused_before_it_is_built_or_evaluated(tmp_path, monkeypatch):
    solution = hand_built(_lqr(7))
    monkeypatch.setattr(Box, "grid", _no_grid)
    monkeypatch.setattr(export, "evaluate", _no_grid)
    for fmt in export.EXTENSIONS:
        with pytest.raises(ProblemError, match=r"the export grid of 11\^7 = 1.95e7 points exceeds MAX_GRID_POINTS"):
            export_grid(solution, 11, fmt, tmp_path / "grid.out")
    with pytest.raises(ProblemError, match=r"of 11\^10 = 2.59e10 points"):  # what `hjb sweep` builds its grid with
        export.grid_points(_lqr(10), 11)
    assert list(tmp_path.iterdir()) == []


def test_a_finite_horizon_grid_counts_its_times(tmp_path, monkeypatch):
    monkeypatch.setattr(SpaceTime, "grid", _no_grid)
    with pytest.raises(ProblemError, match=r"the export grid of 1415\^2 × 2 times = 4004450 points exceeds"):
        export_grid(finite_hand_built(_diffusion2d()), 1415, "npz", tmp_path / "grid.npz", times=2)
    assert list(tmp_path.iterdir()) == []
