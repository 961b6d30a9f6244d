"""`hjb sweep` as a function: a PDE file with make_problem(**params), a grid of parameters → one solve per cell on
Dask → sweep.nc (xarray Dataset) and summary.md in the output directory."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from hjb.cluster.client import dask_client, map_in_order
from hjb.errors import ProblemError
from hjb.io.atomic import atomic_write_text
from hjb.io.export import check_points, check_times, component_labels, default_points, grid_points
from hjb.io.pdefile import check_problem, check_settings, load_factory
from hjb.progress import bar
from hjb.sweep.cell import solve_cell
from hjb.sweep.dataset import summary_table, sweep_dataset, write_netcdf
from hjb.sweep.params import cells, check_signature


def _grid(path: Path, make_problem, settings, cell_params: list[dict], points: int | None, times: int | None) -> dict:
    """The one export grid every cell shares (from the cells' problems, built here); ProblemError when the
    cells' domains or dimensions differ, or when no cell's problem can be built (the first error is named)."""
    grids, first_error = [], None
    for params in cell_params:
        try:
            problem = check_problem(make_problem(**params), path, f"make_problem(**{params})")
        except Exception as err:  # the cell reports it; the sweep goes on
            first_error = first_error or f"make_problem(**{params}): {type(err).__name__}: {err}"
            continue
        check_settings(settings, problem, path)
        N = check_points(points) if points is not None else default_points(problem.state_dim)
        all_points, x, t, N_t = grid_points(problem, N, None if times is None else check_times(times))
        states, actions = component_labels(problem)
        grids.append({"x": x, "t": t, "points": all_points, "points_per_axis": N, "times": N_t,
                      "actions": problem.action_dim, "state_names": states, "action_names": actions})
    if not grids:
        raise ProblemError(f"no cell of the sweep gives a problem; the first error: {first_error}")
    first = grids[0]
    for other in grids[1:]:
        if other["actions"] != first["actions"] or not np.array_equal(other["points"], first["points"]):
            raise ProblemError("the sweep's cells have different domains or dimensions; expected one domain "
                               "and one action dimension for every value of the swept parameters")
    return first


def run_sweep(path: str | os.PathLike, params: dict[str, list], out_dir: str | os.PathLike, seed: int | None = None,
              points: int | None = None, times: int | None = None, scheduler: str | None = None, jobs: int = 1,
              threads: int = 1, progress: bool = True):
    """Solve make_problem(**cell) for every cell of the parameter grid on Dask (a LocalCluster of `jobs` workers, or
    the cluster at `scheduler`); write out_dir/sweep.nc and out_dir/summary.md; return (dataset, summary)."""
    file = Path(path).resolve()
    make_problem, settings = load_factory(file)
    check_signature(make_problem, params)
    cell_params = cells(params)
    grid = _grid(file, make_problem, settings, cell_params, points, times)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ProblemError(f"--out {out} exists and is not a directory; expected a directory for sweep.nc")
    source = file.read_text(encoding="utf-8")
    N, N_t = grid["points_per_axis"], grid["times"]
    items = [(str(file), source, cell, seed, N, N_t) for cell in cell_params]
    with bar(len(items), "sweep cells", progress) as shown, dask_client(scheduler, jobs) as client:
        results = map_in_order(client, solve_cell, items, threads=threads, on_done=lambda i, r: shown.update())
    attrs = {"file": file.name, "seed": seed, "parameters": params}
    dataset = sweep_dataset(params, grid, results, attrs)
    out.mkdir(parents=True, exist_ok=True)
    write_netcdf(dataset, out / "sweep.nc")
    summary = summary_table(params, results)
    atomic_write_text(out / "summary.md", summary + "\n")
    return dataset, summary
