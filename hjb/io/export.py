"""Export V, α and the HJB residual of a solution on a regular grid, as npz, csv or netCDF (written atomically).

Infinite-horizon runs: x (N^d, d) on Box.grid(N), first axis slowest. Finite-horizon runs (e.g. a DiffusionModel):
the grid over (t, x) of SpaceTime.grid(N, N_t), N_t evenly spaced times over [0, T] (both ends included):
time slowest, then the space grid with its first axis slowest, so that row k·N^d + j is the time t_k and the
space point Box.grid(N)[j]. NPZ keys t (N_t·N^d,), x (N_t·N^d, d), value (N_t·N^d,), policy (N_t·N^d, m),
hjb_residual (N_t·N^d,) and meta (JSON); CSV adds a first column t; netCDF a first dimension t.
The problem's component names (hjb.pdes.names: state_names, action_names, default x0…, a0…) head the CSV's x and
policy columns, name the netCDF dimensions and coordinates of x and the values of its `action` coordinate, and go
into meta (state_names, action_names); the npz keys stay x and policy. A learned run (`hjb learn`: no model, so no
HJB residual) exports value and policy only, over its environment's domain and names.

A full grid of more than MAX_GRID_POINTS points is refused before it is built (grid_size counts it in integers);
hjb.io.export_points writes the same keys at the user's points (`--at`) or on a 2-D slice (`--slice`) instead.
"""
from __future__ import annotations

import io
import json
import os
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import numpy as np

from hjb.errors import ProblemError, UnknownNameError
from hjb.io.atomic import atomic_file
from hjb.io.jsonio import plain
from hjb.pdes.finite_horizon import FiniteHorizonProblem
from hjb.pdes.names import default_names

EXTENSIONS = {"npz": "npz", "csv": "csv", "netcdf": "nc"}
BATCH = 4096
DEFAULT_TIMES = 11
ORDER = "time slowest, then the space grid with its first axis slowest (SpaceTime.grid)"
# The most points a full export grid may have. It admits the default grid up to d = 6 (11^6 = 1.8·10⁶ points)
# and refuses d ≥ 7 (11^7 = 1.9·10⁷). 2·10⁶ points take about 3 minutes to evaluate (V, α and the residual's
# Hessian) on one CPU core at d = 6 with the default 64×3 network (measured: 12 000 points/s), and their arrays
# hold a few hundred MB (a CSV of them is near 1 GB); past that a grid is the wrong tool: export a 2-D slice or
# chosen points instead.
MAX_GRID_POINTS = 2_000_000


def timed(problem) -> bool:
    """Whether the problem's points carry their time as a last column: a FiniteHorizonProblem, or a ResidualPDE on a
    SpaceTime domain."""
    return isinstance(problem, FiniteHorizonProblem) or bool(getattr(problem, "time", False))


def field_names(solution) -> dict[str, str]:
    """The exported names of the value and residual fields: value/hjb_residual for a control problem, u/residual for a
    residual PDE (which has no policy), value alone for a learned run (no model, no residual)."""
    if hasattr(solution, "action"):
        return {"value": "value", "hjb_residual": "hjb_residual"} if hasattr(solution, "hjb_residual") else \
            {"value": "value"}
    return {"value": "u", "hjb_residual": "residual"}


def component_labels(problem) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(state names (d,), action names (m,)) of the problem: its state_names and action_names, x0…/a0… where it
    declares none; no action names for a residual PDE."""
    states = getattr(problem, "state_names", None) or default_names(problem.state_dim, "x")
    actions = getattr(problem, "action_names", None)
    if actions is None:
        actions = default_names(getattr(problem, "action_dim", 0), "a")
    return tuple(states), tuple(actions)


def export_labels(data: dict) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The state and action names of write_export's data, x0…/a0… where it carries none (e.g. a sweep's grid)."""
    states = data.get("state_names") or default_names(data["x"].shape[1], "x")
    actions = data.get("action_names") or default_names(data["policy"].shape[1], "a")
    return tuple(states), tuple(actions)


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


def grid_size(state_dim: int, points_per_axis: int, times: int | None = None) -> int:
    """N^d (times N_t when given), in exact integer arithmetic: the grid is never built to count it."""
    return int(points_per_axis) ** int(state_dim) * (1 if times is None else int(times))


def _scientific(n: int) -> str:
    """n as is up to 10⁷, else in three significant digits (Decimal: also past a float's range, 11^400)."""
    return str(n) if n < 10**7 else format(Decimal(n), ".2e").replace("+", "")


def check_grid_size(state_dim: int, points_per_axis: int, times: int | None = None) -> None:
    """ProblemError when the grid N^d (· N_t) has more than MAX_GRID_POINTS points; names the largest N that fits."""
    n = grid_size(state_dim, points_per_axis, times)
    if n <= MAX_GRID_POINTS:
        return
    fits = int((MAX_GRID_POINTS / (times or 1)) ** (1 / state_dim)) + 1  # a float guess, settled in integers
    while fits > 0 and grid_size(state_dim, fits, times) > MAX_GRID_POINTS:
        fits -= 1
    shape = f"{points_per_axis}^{state_dim}" + ("" if times is None else f" × {times} times")
    fewer = f"use --points {fits} or fewer, or " if fits >= 2 else ""
    raise ProblemError(f"the export grid of {shape} = {_scientific(n)} points exceeds MAX_GRID_POINTS = "
                       f"{MAX_GRID_POINTS} (hjb.io.export); {fewer}export chosen points with `hjb export RUN --at "
                       "POINTS.npy` or a 2-D slice with `hjb export RUN --slice I,J`")


def evaluate(solution, x: np.ndarray, batch: int = BATCH) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """V (n,), α (n, m) and R_HJB (n,) of the solution at x (n, d) (or (n, d + 1) space-time points), in batches; for
    a residual PDE u (n,), an empty policy (n, 0) and its residual R (n,); a learned run's R is NaN (never written)."""
    control = hasattr(solution, "action")
    residual = getattr(solution, "hjb_residual" if control else "residual", None)

    def fields(chunk):
        policy = solution.action(chunk).reshape(len(chunk), -1) if control else np.empty((len(chunk), 0))
        return solution.value(chunk), policy, residual(chunk) if residual else np.full(len(chunk), np.nan)

    parts = [fields(chunk) for chunk in (x[i:i + batch] for i in range(0, len(x), batch))]
    return tuple(np.concatenate(column, axis=0) for column in zip(*parts, strict=False))


def _write_npz(path: Path, data: dict) -> None:
    names = data.get("names", {"value": "value", "hjb_residual": "hjb_residual"})
    arrays = {} if data["t"] is None else {"t": data["t"]}
    arrays.update({"x": data["x"], names["value"]: data["value"]})
    if data["policy"].shape[1]:
        arrays["policy"] = data["policy"]
    if names.get("hjb_residual"):
        arrays[names["hjb_residual"]] = data["hjb_residual"]
    arrays["meta"] = np.array(data["meta"])
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    path.write_bytes(buffer.getvalue())


def _write_csv(path: Path, data: dict) -> None:
    x, policy, t = data["x"], data["policy"], data["t"]
    names = data.get("names", {"value": "value", "hjb_residual": "hjb_residual"})
    states, actions = export_labels(data)
    residual = [names["hjb_residual"]] if names.get("hjb_residual") else []
    header = ([] if t is None else ["t"]) + list(states) + [names["value"]] + list(actions) + residual
    table = np.column_stack(([] if t is None else [t]) + [x, data["value"], policy]
                            + ([data["hjb_residual"]] if residual else []))
    buffer = io.StringIO()
    buffer.write(f"# meta: {data['meta']}\n")
    np.savetxt(buffer, table, delimiter=",", header=",".join(header), comments="", fmt="%.17g")
    path.write_text(buffer.getvalue(), encoding="utf-8")


def grid_dataset(data: dict):
    """The xarray Dataset of value, hjb_residual (grid dims t?, then the state names x0, …) and policy (…, action),
    the action coordinate holding the action names, from the flat arrays of export_grid's data (x, t, value, policy,
    hjb_residual, points_per_axis, times, and state_names, action_names when given)."""
    import xarray as xr

    d, N, t = data["x"].shape[1], data["points_per_axis"], data["t"]
    states, actions = export_labels(data)
    dims = states
    shape = (N,) * d
    columns = data["x"]
    if t is not None:  # time is the slowest axis of the grid, so it is the first dimension
        dims, shape, columns = ("t",) + dims, (data["times"],) + shape, np.column_stack([t, columns])
    m = data["policy"].shape[1]
    C = columns.reshape(shape + (len(dims),))
    coords = {dims[i]: np.moveaxis(C[..., i], i, 0).reshape(shape[i], -1)[:, 0] for i in range(len(dims))}
    names = data.get("names", {"value": "value", "hjb_residual": "hjb_residual"})
    variables = {names["value"]: (dims, data["value"].reshape(shape))}
    if names.get("hjb_residual"):
        variables[names["hjb_residual"]] = (dims, data["hjb_residual"].reshape(shape))
    if m:
        coords["action"] = np.array(actions)
        variables["policy"] = (dims + ("action",), data["policy"].reshape(shape + (m,)))
    return xr.Dataset(variables, coords=coords)


def _write_netcdf(path: Path, data: dict) -> None:
    dataset = data.get("to_dataset", grid_dataset)(data)
    if not data.get("names", {"hjb_residual": "hjb_residual"}).get("hjb_residual"):  # a learned run: no residual
        dataset = dataset.drop_vars("hjb_residual", errors="ignore")
    dataset.attrs.update(problem=data["problem"], meta=data["meta"])
    dataset.to_netcdf(path, engine="scipy")


WRITERS: dict[str, Callable[[Path, dict], None]] = {"npz": _write_npz, "csv": _write_csv, "netcdf": _write_netcdf}


def grid_points(problem, points_per_axis: int, times: int | None = None):
    """(points, x, t, N_t): the export grid of the problem, Box.grid(N) (t = N_t = None), or for a finite-horizon
    problem SpaceTime.grid(N, N_t) with N_t = `times` (default DEFAULT_TIMES) and its x (n, d) and t (n,) columns;
    ProblemError, before anything is built, when the grid has more than MAX_GRID_POINTS points."""
    if timed(problem):
        N_t = check_times(DEFAULT_TIMES if times is None else times)
        check_grid_size(problem.state_dim, points_per_axis, N_t)
        points = problem.domain.grid(points_per_axis, N_t)
        d = problem.state_dim
        return points, points[:, :d], points[:, d], N_t
    if times is not None:
        raise ProblemError(f"--times applies to runs with time only (finite-horizon, or a residual PDE on a SpaceTime); "
                           f"problem {problem.name!r} has no time (export it without --times)")
    check_grid_size(problem.state_dim, points_per_axis)
    points = problem.domain.grid(points_per_axis)
    return points, points, None, None


def run_info(solution, **extra) -> dict:
    """The meta of every export: problem, its parameters, state (and action) names, the run's status, and `extra`."""
    problem = solution.problem
    states, actions = component_labels(problem)
    names = {"state_names": list(states), **({"action_names": list(actions)} if hasattr(solution, "action") else {})}
    return {"problem": problem.name, "parameters": problem.describe(), **names, "status": solution.status, **extra}


def write_export(solution, points: np.ndarray, fmt: str, out_path: str | os.PathLike, info: dict, **extra) -> Path:
    """Evaluate V, α, R_HJB at points (n, d) or (n, d + 1) (time last) and write them, with x, t (finite horizon,
    else None) and meta = JSON(info), in format fmt to out_path atomically; `extra` goes to the writer."""
    d = solution.problem.state_dim
    finite = timed(solution.problem)
    value, policy, residual = evaluate(solution, points)
    data = {"t": points[:, d] if finite else None, "x": points[:, :d], "value": value, "policy": policy,
            "hjb_residual": residual, "meta": json.dumps(plain(info), allow_nan=False),
            "problem": solution.problem.name, "names": field_names(solution), **extra}
    data["state_names"], data["action_names"] = component_labels(solution.problem)
    out = Path(out_path)
    with atomic_file(out) as temp:
        WRITERS[fmt](temp, data)
    return out


def export_grid(solution, points_per_axis: int, fmt: str, out_path: str | os.PathLike, times: int | None = None) -> Path:
    """Write x (N^d, d), V (N^d,), α (N^d, m), R_HJB (N^d,) on Box.grid(N) of the problem's box to out_path; for a
    finite-horizon problem t (N_t·N^d,), x (N_t·N^d, d), V, α, R_HJB on SpaceTime.grid(N, N_t) (order: ORDER),
    N_t = `times` (default DEFAULT_TIMES) evenly spaced over [0, T]. ProblemError when the grid is too large."""
    check_format(fmt)
    N = check_points(points_per_axis)
    problem = solution.problem
    points, _, t, N_t = grid_points(problem, N, times)
    info = run_info(solution, points_per_axis=N)
    if t is not None:
        info.update(times=N_t, horizon=problem.domain.t1 - problem.domain.t0, order=ORDER)
    return write_export(solution, points, fmt, out_path, info, points_per_axis=N, times=N_t)


def _check_modes(points_per_axis, times, at, slice_axes, through, time) -> None:
    """ProblemError for options that do not go together: --at with --slice, --points or --times; --slice with
    --times; --through or --time without --slice."""
    if at is not None and slice_axes is not None:
        raise ProblemError("give --at POINTS.npy or --slice I,J, not both; expected one way of choosing the points")
    if at is not None and points_per_axis is not None:
        raise ProblemError("--points sets a grid's points per axis; --at exports exactly the file's points "
                           "(drop --points)")
    if times is not None and (at is not None or slice_axes is not None):
        raise ProblemError("--times sets the grid's times; --at takes each point's time from its last column and "
                           "--slice from --time (drop --times)")
    if slice_axes is None and (through is not None or time is not None):
        raise ProblemError("--through and --time apply to --slice only; expected --slice I,J with them")


def export_run(run_dir: str | os.PathLike, points_per_axis: int | None = None, fmt: str = "npz",
               out_path: str | os.PathLike | None = None, times: int | None = None, *,
               at: str | os.PathLike | None = None, slice_axes=None, through=None, time: float | None = None) -> Path:
    """Load a run directory and export it: its grid (defaults: default_points(d) per axis, DEFAULT_TIMES times for
    a finite-horizon run, out RUN_DIR/grid.<ext>); with `at`, at the points of that .npy file (RUN_DIR/points.<ext>);
    with `slice_axes`, on a 2-D slice (RUN_DIR/slice.<ext>; see hjb.io.export_points.export_slice)."""
    from hjb.io import export_points
    from hjb.io.rundir import load_run

    check_format(fmt)
    _check_modes(points_per_axis, times, at, slice_axes, through, time)
    if points_per_axis is not None:
        check_points(points_per_axis)
    if times is not None:
        check_times(times)
    solution = load_run(run_dir)
    stem = "points" if at is not None else "slice" if slice_axes is not None else "grid"
    out = Path(out_path) if out_path is not None else Path(run_dir) / f"{stem}.{EXTENSIONS[fmt]}"
    if at is not None:
        return export_points.export_at(solution, export_points.read_points(at), fmt, out, source=str(at))
    if slice_axes is not None:
        N = points_per_axis if points_per_axis is not None else export_points.SLICE_POINTS
        return export_points.export_slice(solution, slice_axes, fmt, out, through, N, time)
    N = points_per_axis if points_per_axis is not None else default_points(solution.problem.state_dim)
    return export_grid(solution, N, fmt, out, times)
