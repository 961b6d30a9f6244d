"""Export V, α and the HJB residual of a solution on a regular grid, as npz, csv or netCDF (written atomically).

Infinite-horizon runs: x (N^d, d) on Box.grid(N), first axis slowest. Finite-horizon runs (e.g. a DiffusionModel):
the grid over (t, x) of SpaceTime.grid(N, N_t), N_t evenly spaced times over [0, T] (both ends included):
time slowest, then the space grid with its first axis slowest, so that row k·N^d + j is the time t_k and the
space point Box.grid(N)[j]. NPZ keys t (N_t·N^d,), x (N_t·N^d, d), value (N_t·N^d,), policy (N_t·N^d, m),
hjb_residual (N_t·N^d,) and meta (JSON); CSV adds a first column t; netCDF a first dimension t.
"""
from __future__ import annotations

import io
import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from hjb.errors import ProblemError, UnknownNameError
from hjb.io.atomic import atomic_file
from hjb.io.jsonio import plain
from hjb.pdes.finite_horizon import FiniteHorizonProblem

EXTENSIONS = {"npz": "npz", "csv": "csv", "netcdf": "nc"}
BATCH = 4096
DEFAULT_TIMES = 11
ORDER = "time slowest, then the space grid with its first axis slowest (SpaceTime.grid)"


def default_points(state_dim: int) -> int:
    """Grid points per axis when none are given: 101 for d = 1, 41 for d = 2, 11 otherwise."""
    return {1: 101, 2: 41}.get(state_dim, 11)


def check_format(fmt: str) -> str:
    """fmt if it is a known export format, else UnknownNameError."""
    if fmt not in EXTENSIONS:
        raise UnknownNameError(f"unknown export format {fmt!r}; expected one of {', '.join(EXTENSIONS)}")
    return fmt


def _count(value, least: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
        raise ProblemError(f"export needs at least {least} {what}; got {value!r}")
    return int(value)


def check_points(points_per_axis: int) -> int:
    """points_per_axis if it is an integer ≥ 2, else ProblemError."""
    return _count(points_per_axis, 2, "grid points per axis")


def check_times(times: int) -> int:
    """times if it is an integer ≥ 2 (so that both t = 0 and t = T are on the grid), else ProblemError."""
    return _count(times, 2, "times (--times: evenly spaced over [0, T], both ends included)")


def evaluate(solution, x: np.ndarray, batch: int = BATCH) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """V (n,), α (n, m) and R_HJB (n,) of the solution at x (n, d) (or (n, d + 1) space-time points), in batches."""
    parts = [
        (solution.value(chunk), solution.action(chunk).reshape(len(chunk), -1), solution.hjb_residual(chunk))
        for chunk in (x[i:i + batch] for i in range(0, len(x), batch))
    ]
    return tuple(np.concatenate(column, axis=0) for column in zip(*parts, strict=False))


def _write_npz(path: Path, data: dict) -> None:
    arrays = {} if data["t"] is None else {"t": data["t"]}
    arrays.update(x=data["x"], value=data["value"], policy=data["policy"], hjb_residual=data["hjb_residual"],
                  meta=np.array(data["meta"]))
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    path.write_bytes(buffer.getvalue())


def _write_csv(path: Path, data: dict) -> None:
    x, policy, t = data["x"], data["policy"], data["t"]
    header = ([] if t is None else ["t"]) + [f"x{i}" for i in range(x.shape[1])] + ["value"]
    header += [f"policy{j}" for j in range(policy.shape[1])] + ["hjb_residual"]
    table = np.column_stack(([] if t is None else [t]) + [x, data["value"], policy, data["hjb_residual"]])
    buffer = io.StringIO()
    buffer.write(f"# meta: {data['meta']}\n")
    np.savetxt(buffer, table, delimiter=",", header=",".join(header), comments="", fmt="%.17g")
    path.write_text(buffer.getvalue(), encoding="utf-8")


def grid_dataset(data: dict):
    """The xarray Dataset of value, hjb_residual (grid dims t?, x0, …) and policy (…, action) from the flat arrays
    of export_grid's data (x, t, value, policy, hjb_residual, points_per_axis, times)."""
    import xarray as xr

    d, N, t = data["x"].shape[1], data["points_per_axis"], data["t"]
    dims = tuple(f"x{i}" for i in range(d))
    shape = (N,) * d
    columns = data["x"]
    if t is not None:  # time is the slowest axis of the grid, so it is the first dimension
        dims, shape, columns = ("t",) + dims, (data["times"],) + shape, np.column_stack([t, columns])
    m = data["policy"].shape[1]
    C = columns.reshape(shape + (len(dims),))
    coords = {dims[i]: np.moveaxis(C[..., i], i, 0).reshape(shape[i], -1)[:, 0] for i in range(len(dims))}
    coords["action"] = np.arange(m)
    return xr.Dataset(
        {
            "value": (dims, data["value"].reshape(shape)),
            "hjb_residual": (dims, data["hjb_residual"].reshape(shape)),
            "policy": (dims + ("action",), data["policy"].reshape(shape + (m,))),
        },
        coords=coords,
    )


def _write_netcdf(path: Path, data: dict) -> None:
    dataset = grid_dataset(data)
    dataset.attrs.update(problem=data["problem"], meta=data["meta"])
    dataset.to_netcdf(path, engine="scipy")


WRITERS: dict[str, Callable[[Path, dict], None]] = {"npz": _write_npz, "csv": _write_csv, "netcdf": _write_netcdf}


def grid_points(problem, points_per_axis: int, times: int | None = None):
    """(points, x, t, N_t): the export grid of the problem, Box.grid(N) (t = N_t = None), or for a finite-horizon
    problem SpaceTime.grid(N, N_t) with N_t = `times` (default DEFAULT_TIMES) and its x (n, d) and t (n,) columns."""
    if isinstance(problem, FiniteHorizonProblem):
        N_t = check_times(DEFAULT_TIMES if times is None else times)
        points = problem.domain.grid(points_per_axis, N_t)
        d = problem.state_dim
        return points, points[:, :d], points[:, d], N_t
    if times is not None:
        raise ProblemError(f"--times applies to finite-horizon runs only; problem {problem.name!r} is an "
                           "infinite-horizon ControlProblem (export it without --times)")
    points = problem.domain.grid(points_per_axis)
    return points, points, None, None


def export_grid(solution, points_per_axis: int, fmt: str, out_path: str | os.PathLike, times: int | None = None) -> Path:
    """Write x (N^d, d), V (N^d,), α (N^d, m), R_HJB (N^d,) on Box.grid(N) of the problem's box to out_path; for a
    finite-horizon problem t (N_t·N^d,), x (N_t·N^d, d), V, α, R_HJB on SpaceTime.grid(N, N_t) (order: ORDER),
    N_t = `times` (default DEFAULT_TIMES) evenly spaced over [0, T]."""
    check_format(fmt)
    N = check_points(points_per_axis)
    problem = solution.problem
    info = {"problem": problem.name, "parameters": problem.describe(), "points_per_axis": N, "status": solution.status}
    points, x, t, N_t = grid_points(problem, N, times)
    if t is not None:
        info.update(times=N_t, horizon=problem.horizon, order=ORDER)
    value, policy, residual = evaluate(solution, points)
    meta = json.dumps(plain(info), allow_nan=False)
    data = {"t": t, "x": x, "value": value, "policy": policy, "hjb_residual": residual, "meta": meta,
            "problem": problem.name, "points_per_axis": N, "times": N_t}
    out = Path(out_path)
    with atomic_file(out) as temp:
        WRITERS[fmt](temp, data)
    return out


def export_run(run_dir: str | os.PathLike, points_per_axis: int | None = None, fmt: str = "npz",
               out_path: str | os.PathLike | None = None, times: int | None = None) -> Path:
    """Load a run directory and export its grid; defaults: default_points(d), DEFAULT_TIMES times for a
    finite-horizon run, and RUN_DIR/grid.<ext>."""
    from hjb.io.rundir import load_run

    check_format(fmt)
    if points_per_axis is not None:
        check_points(points_per_axis)
    if times is not None:
        check_times(times)
    solution = load_run(run_dir)
    N = points_per_axis if points_per_axis is not None else default_points(solution.problem.state_dim)
    out = Path(out_path) if out_path is not None else Path(run_dir) / f"grid.{EXTENSIONS[fmt]}"
    return export_grid(solution, N, fmt, out, times)
