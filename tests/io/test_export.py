"""hjb.io.export: V, α and R_HJB on Box.grid(N) as npz, csv and netCDF; bad names and sizes; atomic writes."""
from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr
from tiny_solver import LQR1D_FILE, hand_built, write

from hjb.errors import ProblemError, UnknownNameError
from hjb.io import export
from hjb.io.export import evaluate, export_grid, export_run
from hjb.io.rundir import save_run
from hjb.pdes import Merton, StochasticLQR, seed_lqr


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
    assert lines[1] == "x0,value,policy0,policy1,hjb_residual"
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
