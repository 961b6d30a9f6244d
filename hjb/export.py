"""Export V, α and the HJB residual of a solution on a regular grid, as npz, csv or netCDF (written atomically)."""
from __future__ import annotations

import io
import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from hjb.atomic import atomic_file
from hjb.errors import ProblemError, UnknownNameError
from hjb.jsonio import plain

EXTENSIONS = {"npz": "npz", "csv": "csv", "netcdf": "nc"}
BATCH = 4096


def default_points(state_dim: int) -> int:
    """Grid points per axis when none are given: 101 for d = 1, 41 for d = 2, 11 otherwise."""
    return {1: 101, 2: 41}.get(state_dim, 11)


def check_format(fmt: str) -> str:
    """fmt if it is a known export format, else UnknownNameError."""
    if fmt not in EXTENSIONS:
        raise UnknownNameError(f"unknown export format {fmt!r}; expected one of {', '.join(EXTENSIONS)}")
    return fmt


def check_points(points_per_axis: int) -> int:
    """points_per_axis if it is an integer ≥ 2, else ProblemError."""
    if isinstance(points_per_axis, bool) or not isinstance(points_per_axis, (int, np.integer)) or points_per_axis < 2:
        raise ProblemError(f"export needs at least 2 grid points per axis; got {points_per_axis!r}")
    return int(points_per_axis)


def evaluate(solution, x: np.ndarray, batch: int = BATCH) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """V (n,), α (n, m) and R_HJB (n,) of the solution at x (n, d), in batches of `batch` points."""
    parts = [
        (solution.value(chunk), solution.action(chunk).reshape(len(chunk), -1), solution.hjb_residual(chunk))
        for chunk in (x[i:i + batch] for i in range(0, len(x), batch))
    ]
    return tuple(np.concatenate(column, axis=0) for column in zip(*parts, strict=False))


def _write_npz(path: Path, data: dict) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, x=data["x"], value=data["value"], policy=data["policy"], hjb_residual=data["hjb_residual"],
             meta=np.array(data["meta"]))
    path.write_bytes(buffer.getvalue())


def _write_csv(path: Path, data: dict) -> None:
    x, policy = data["x"], data["policy"]
    header = [f"x{i}" for i in range(x.shape[1])] + ["value"]
    header += [f"policy{j}" for j in range(policy.shape[1])] + ["hjb_residual"]
    table = np.column_stack([x, data["value"], policy, data["hjb_residual"]])
    buffer = io.StringIO()
    buffer.write(f"# meta: {data['meta']}\n")
    np.savetxt(buffer, table, delimiter=",", header=",".join(header), comments="", fmt="%.17g")
    path.write_text(buffer.getvalue(), encoding="utf-8")


def _write_netcdf(path: Path, data: dict) -> None:
    import xarray as xr

    d = data["x"].shape[1]
    N = data["points_per_axis"]
    dims = tuple(f"x{i}" for i in range(d))
    shape = (N,) * d
    m = data["policy"].shape[1]
    X = data["x"].reshape(shape + (d,))
    coords = {dims[i]: np.moveaxis(X[..., i], i, 0).reshape(N, -1)[:, 0] for i in range(d)}
    coords["action"] = np.arange(m)
    dataset = xr.Dataset(
        {
            "value": (dims, data["value"].reshape(shape)),
            "hjb_residual": (dims, data["hjb_residual"].reshape(shape)),
            "policy": (dims + ("action",), data["policy"].reshape(shape + (m,))),
        },
        coords=coords,
        attrs={"problem": data["problem"], "meta": data["meta"]},
    )
    dataset.to_netcdf(path, engine="scipy")


WRITERS: dict[str, Callable[[Path, dict], None]] = {"npz": _write_npz, "csv": _write_csv, "netcdf": _write_netcdf}


def export_grid(solution, points_per_axis: int, fmt: str, out_path: str | os.PathLike) -> Path:
    """Write x (N^d, d), V (N^d,), α (N^d, m), R_HJB (N^d,) on Box.grid(N) of the problem's box to out_path."""
    check_format(fmt)
    N = check_points(points_per_axis)
    problem = solution.problem
    x = problem.domain.grid(N)
    value, policy, residual = evaluate(solution, x)
    meta = json.dumps(plain({"problem": problem.name, "parameters": problem.describe(), "points_per_axis": N,
                             "status": solution.status}), allow_nan=False)
    data = {"x": x, "value": value, "policy": policy, "hjb_residual": residual, "meta": meta,
            "problem": problem.name, "points_per_axis": N}
    out = Path(out_path)
    with atomic_file(out) as temp:
        WRITERS[fmt](temp, data)
    return out


def export_run(run_dir: str | os.PathLike, points_per_axis: int | None = None, fmt: str = "npz",
               out_path: str | os.PathLike | None = None) -> Path:
    """Load a run directory and export its grid; defaults: default_points(d) and RUN_DIR/grid.<ext>."""
    from hjb.rundir import load_run

    check_format(fmt)
    if points_per_axis is not None:
        check_points(points_per_axis)
    solution = load_run(run_dir)
    N = points_per_axis if points_per_axis is not None else default_points(solution.problem.state_dim)
    out = Path(out_path) if out_path is not None else Path(run_dir) / f"grid.{EXTENSIONS[fmt]}"
    return export_grid(solution, N, fmt, out)

