"""Export V, α and R_HJB where a full grid cannot go: at the user's points (`hjb export --at`) or on a 2-D slice
through a state (`hjb export --slice`), with the keys and columns of hjb.io.export.

Points are x (n, d) for an infinite-horizon run, space-time points (n, d + 1) with the time last (as
SpaceTime and hjb.io.export.evaluate) for a finite-horizon one. They must lie in the closed domain (box, and
[0, T]): a PINN is trained there only, and its values outside are an extrapolation that no residual controlled,
so points outside are refused (with their count and the box), never exported with a warning.
"""
from __future__ import annotations

import operator
import os
from pathlib import Path

import numpy as np

from hjb.errors import ProblemError
from hjb.io.export import (
    MAX_GRID_POINTS,
    check_format,
    check_points,
    component_labels,
    export_labels,
    run_info,
    timed,
    write_export,
)

SLICE_POINTS = 41


def _numbers(values) -> str:
    return "[" + ", ".join(f"{v:g}" for v in values) + "]"


def _box(problem):
    return problem.domain.box if timed(problem) else problem.domain


def read_points(path: str | os.PathLike) -> np.ndarray:
    """The array stored in the .npy file at path; ProblemError when it is missing or not a .npy array of numbers."""
    path = Path(path)
    if not path.is_file():
        raise ProblemError(f"--at {path} does not exist or is not a file; expected a .npy file of points (n, d)")
    try:
        with open(path, "rb") as handle:
            points = np.lib.format.read_array(handle, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ProblemError(f"--at {path} is not a loadable .npy file ({reason}); expected an array saved by "
                           "numpy.save") from None
    if not (np.issubdtype(points.dtype, np.integer) or np.issubdtype(points.dtype, np.floating)):  # bool is neither
        raise ProblemError(f"--at {path} holds an array of dtype {points.dtype}; expected real numbers")
    return points


def check_user_points(problem, points: np.ndarray, source: str = "the array") -> np.ndarray:
    """points as float64 (n, d), or (n, d + 1) with the time last for a finite-horizon problem; ProblemError when
    the shape is wrong, a value is NaN/inf, or a point lies outside the closed domain (box, and [0, T])."""
    points = np.asarray(points)
    d, finite = problem.state_dim, timed(problem)
    states = component_labels(problem)[0]
    names = states[0] if d == 1 else f"{states[0]}..{states[-1]}"
    columns = f"d + 1 = {d + 1} columns ({names}, then the time t)" if finite else \
        f"d = {d} columns ({names}; an infinite-horizon run has no time column)"
    if points.ndim != 2 or len(points) == 0:
        raise ProblemError(f"{source} has shape {points.shape}; expected a non-empty 2-D array (n, {columns})")
    if points.shape[1] != d + finite:
        raise ProblemError(f"{source} has {points.shape[1]} columns; expected {columns} for problem {problem.name!r}")
    points = points.astype(np.float64)
    bad = int(np.count_nonzero(~np.isfinite(points).all(axis=1)))
    if bad:
        raise ProblemError(f"{bad} of the {len(points)} rows in {source} hold NaN or inf; expected finite numbers")
    inside = _box(problem).contains(points[:, :d])
    where = f"the box lo={_numbers(_box(problem).lo)}, hi={_numbers(_box(problem).hi)}"
    if finite:
        inside &= (points[:, d] >= problem.domain.t0) & (points[:, d] <= problem.domain.t1)
        where += f" × times [{problem.domain.t0:g}, {problem.domain.t1:g}]"
    outside = int(np.count_nonzero(~inside))
    if outside:
        raise ProblemError(f"{outside} of the {len(points)} points in {source} lie outside {where}; expected points "
                           "in the domain the network was trained on")
    return points


def point_dataset(data: dict):
    """The xarray Dataset of value, hjb_residual (point) and policy (point, action), coordinates named by the state
    names x0, … (and t) along `point` and the action names along `action`, from write_export's flat arrays."""
    import xarray as xr

    x, t = data["x"], data["t"]
    states, actions = export_labels(data)
    coords = {name: ("point", x[:, i]) for i, name in enumerate(states)}
    if t is not None:
        coords = {"t": ("point", t), **coords}
    coords["action"] = np.array(actions)
    return xr.Dataset({"value": ("point", data["value"]), "hjb_residual": ("point", data["hjb_residual"]),
                       "policy": (("point", "action"), data["policy"])}, coords=coords)


def export_at(solution, points: np.ndarray, fmt: str, out_path: str | os.PathLike, source: str = "array") -> Path:
    """Write x (n, d) (and t (n,)), V (n,), α (n, m), R_HJB (n,) at the points (n, d) or (n, d + 1), time last,
    in the row order given; netCDF along a dimension `point`. ProblemError (nothing written) on bad points."""
    check_format(fmt)
    what = "the array" if source == "array" else f"--at {source}"
    points = check_user_points(solution.problem, points, what)
    info = run_info(solution, layout="points", points=len(points), source=source)
    if timed(solution.problem):
        states = component_labels(solution.problem)[0]
        info.update(horizon=solution.problem.domain.t1 - solution.problem.domain.t0,
                    columns=f"{', '.join(states)}, then t (time last)")
    return write_export(solution, points, fmt, out_path, info, to_dataset=point_dataset)


def parse_axes(axes, state_dim: int) -> tuple[int, int]:
    """(I, J) from "I,J" or a pair of integers: two different state axes in 0..d − 1, else ProblemError."""
    expected = f"two different state axes I,J in 0..{state_dim - 1}"
    try:
        parts = [int(a) if isinstance(a, str) else operator.index(a)
                 for a in (axes.split(",") if isinstance(axes, str) else axes)]
    except (TypeError, ValueError):
        raise ProblemError(f"--slice {axes!r} is not a pair of axis indices; expected {expected}") from None
    if len(parts) != 2 or parts[0] == parts[1] or not all(0 <= a < state_dim for a in parts):
        raise ProblemError(f"--slice {axes!r} does not name {expected}")
    return parts[0], parts[1]


def parse_state(through, box) -> np.ndarray:
    """The state (d,) from comma- or space-separated numbers (one string or several) or a sequence of numbers;
    None gives the box's centre (lo + hi)/2. ProblemError when its length is not d or it lies outside the box."""
    if through is None:
        return (box.lo + box.hi) / 2
    if isinstance(through, str) or (len(through) and all(isinstance(v, str) for v in through)):
        text = through if isinstance(through, str) else " ".join(through)
        words = text.replace(",", " ").split()
        try:
            through = [float(w) for w in words]
        except ValueError:
            raise ProblemError(f"--through {text!r} is not a list of numbers; expected d = {box.dim} comma-separated "
                               "numbers") from None
    try:
        state = np.asarray(through, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise ProblemError(f"--through {through!r} is not a list of numbers; expected d = {box.dim} numbers") from None
    if len(state) != box.dim:
        raise ProblemError(f"--through gives {len(state)} number(s); expected d = {box.dim} (one per state axis)")
    if not (np.all(np.isfinite(state)) and box.contains(state[None])[0]):
        raise ProblemError(f"--through {_numbers(state)} lies outside the box lo={_numbers(box.lo)}, "
                           f"hi={_numbers(box.hi)}; expected a state in the box")
    return state


def _check_time(problem, time) -> float | None:
    """The slice's time: None for an infinite-horizon problem (ProblemError if one is given), else `time` (default
    t0 = 0) in [t0, T]."""
    if not timed(problem):
        if time is not None:
            raise ProblemError(f"--time applies to finite-horizon runs only; problem {problem.name!r} is an "
                               "infinite-horizon ControlProblem (slice it without --time)")
        return None
    t0, t1 = problem.domain.t0, problem.domain.t1
    try:
        t = t0 if time is None else float(time)
    except (TypeError, ValueError):
        raise ProblemError(f"--time {time!r} is not a number; expected a time in [{t0:g}, {t1:g}]") from None
    if not t0 <= t <= t1:  # NaN fails too
        raise ProblemError(f"--time {t:g} is outside [{t0:g}, {t1:g}]; expected a time in the run's horizon")
    return t


def slice_points(problem, axes: tuple[int, int], through: np.ndarray, points_per_axis: int,
                 time: float | None = None) -> np.ndarray:
    """The slice (N², d) (or (N², d + 1) with the column t = time): the state `through` with axes I, J replaced by
    the grid Box.grid(N) of the box's ranges on I and J (axis I slowest), every other axis fixed."""
    from hjb.geometry.box import Box

    box, (i, j), N = _box(problem), axes, points_per_axis
    plane = Box(box.lo[[i, j]], box.hi[[i, j]]).grid(N)
    x = np.tile(np.asarray(through, dtype=np.float64), (N * N, 1))
    x[:, i], x[:, j] = plane[:, 0], plane[:, 1]
    return x if time is None else np.column_stack([x, np.full(N * N, time)])


def slice_dataset(data: dict):
    """The xarray Dataset of value, hjb_residual (x_I, x_J) and policy (x_I, x_J, action) of a slice, dimensions
    named by the state names, the other axes (and t) as scalar coordinates, the action names along `action`."""
    import xarray as xr

    (i, j), N, x, m = data["axes"], data["points_per_axis"], data["x"], data["policy"].shape[1]
    states, actions = export_labels(data)
    dims, shape = (states[i], states[j]), (N, N)
    coords = {states[i]: x[::N, i], states[j]: x[:N, j], "action": np.array(actions)}
    coords.update({states[k]: x[0, k] for k in range(x.shape[1]) if k not in (i, j)})
    if data["t"] is not None:
        coords["t"] = data["t"][0]
    return xr.Dataset({"value": (dims, data["value"].reshape(shape)),
                       "hjb_residual": (dims, data["hjb_residual"].reshape(shape)),
                       "policy": (dims + ("action",), data["policy"].reshape(shape + (m,)))}, coords=coords)


def export_slice(solution, axes, fmt: str, out_path: str | os.PathLike, through=None,
                 points_per_axis: int = SLICE_POINTS, time: float | None = None) -> Path:
    """Write x (N², d) (and t (N²,)), V, α, R_HJB on the 2-D slice of slice_points: axes = "I,J" or (I, J), through
    = d numbers (default the box's centre), time (finite horizon, default 0); netCDF over dims (x_I, x_J)."""
    check_format(fmt)
    problem = solution.problem
    N = check_points(points_per_axis)
    if N * N > MAX_GRID_POINTS:
        raise ProblemError(f"a slice of {N}² points exceeds MAX_GRID_POINTS = {MAX_GRID_POINTS} (hjb.io.export); "
                           f"expected --points {int(np.sqrt(MAX_GRID_POINTS))} or fewer")
    i, j = parse_axes(axes, problem.state_dim)
    state = parse_state(through, _box(problem))
    t = _check_time(problem, time)
    points = slice_points(problem, (i, j), state, N, t)
    states = component_labels(problem)[0]
    info = run_info(solution, layout="slice", axes=[i, j], through=state.tolist(), points_per_axis=N,
                    order=f"{states[i]} slowest, then {states[j]}")
    if t is not None:
        info.update(time=t, horizon=problem.domain.t1 - problem.domain.t0)
    return write_export(solution, points, fmt, out_path, info, to_dataset=slice_dataset, axes=(i, j),
                        points_per_axis=N)
