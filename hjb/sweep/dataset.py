"""The sweep's labelled result: an xarray Dataset over the swept parameters and the export grid, its netCDF file
(written atomically) and its summary table."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from hjb.io.atomic import atomic_file
from hjb.io.export import grid_dataset
from hjb.sweep.cell import FAILED

GRIDDED = ("value", "hjb_residual", "policy")
SCALARS = ("status", "error", "seconds", "iterations", "hjb_residual_rms")


def sweep_dataset(params: dict[str, list], grid: dict, results: list[dict], attrs: dict):
    """Dataset with value, hjb_residual (sweep dims, grid dims), policy (…, action) and status, error, seconds,
    iterations, hjb_residual_rms (sweep dims); `grid` holds export_grid's x, t, points_per_axis, times, actions;
    results are in the order of hjb.sweep.params.cells (the last name fastest). NaN where a cell failed."""
    import xarray as xr

    n = len(grid["x"])
    empty = {"value": np.zeros(n), "hjb_residual": np.zeros(n), "policy": np.zeros((n, grid["actions"]))}
    template = grid_dataset({**grid, **empty})
    shape = tuple(len(values) for values in params.values())
    names = tuple(params)
    variables = {}
    for key in GRIDDED:
        array = np.full(shape + template[key].shape, np.nan)
        for flat, result in enumerate(results):
            if result["status"] != FAILED:
                array[np.unravel_index(flat, shape)] = np.asarray(result[key]).reshape(template[key].shape)
        variables[key] = (names + template[key].dims, array)
    for key in SCALARS:
        values = [result[key] for result in results]
        variables[key] = (names, np.array(values, dtype=str if key in ("status", "error") else float).reshape(shape))
    coords = {name: np.asarray(values) for name, values in params.items()} | dict(template.coords)
    return xr.Dataset(variables, coords=coords, attrs={key: json.dumps(value) for key, value in attrs.items()})


def write_netcdf(dataset, path: Path) -> Path:
    """Write the dataset to path as netCDF (scipy engine: no extra library), atomically."""
    with atomic_file(path) as temp:
        dataset.to_netcdf(temp, engine="scipy")
    return path


def summary_table(params: dict[str, list], results: list[dict]) -> str:
    """A Markdown table, one row per cell: the parameters, status, PI iterations, HJB residual rms, seconds, error."""
    from hjb.sweep.params import cells

    header = list(params) + ["status", "PI", "HJB residual rms", "seconds", "error"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for cell, result in zip(cells(params), results, strict=True):
        row = [f"{value:g}" for value in cell.values()] + [
            result["status"], str(result["iterations"]), f"{result['hjb_residual_rms']:.3e}",
            f"{result['seconds']:.1f}", result["error"] or ""]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)
