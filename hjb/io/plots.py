"""PNG figures of a solution: V and α on the box (line for d = 1, map for d = 2, centre slice for d > 2), convergence.
Axes and action panels carry the problem's state and action names (hjb.pdes.names)."""
from __future__ import annotations

import io
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from hjb.geometry.box import Box
from hjb.io.atomic import atomic_write_bytes


@dataclass(frozen=True)
class PlotGrid:
    """Points x (n, d) to draw on: kind "line" with coords (t,) (n,), or kind "map" with coords (x0, x1) of a k×k grid;
    xlabel (and ylabel, a map's) label the axes."""

    x: np.ndarray
    kind: str
    coords: tuple[np.ndarray, ...]
    xlabel: str
    log_x: bool = False
    ylabel: str = "x1"


def plot_grid(box: Box, line_points: int = 201, map_points: int = 61, names: Sequence[str] | None = None) -> PlotGrid:
    """A line over [lo, hi] for d = 1, a map_points² grid for d = 2, a slice along x0 through the centre for d > 2;
    the axes labelled by the state names (d,) (without them: x for d = 1, x0, x1, … otherwise)."""
    d = box.dim
    label = list(names) if names is not None else (["x"] if d == 1 else [f"x{i}" for i in range(d)])
    if d == 1:
        x = box.grid(line_points)
        return PlotGrid(x, "line", (x[:, 0],), label[0], log_x=box.scale == "log")
    if d == 2:
        x = box.grid(map_points)
        axes = tuple(np.linspace(box.lo[i], box.hi[i], map_points) for i in range(2))
        return PlotGrid(x, "map", axes, label[0], ylabel=label[1])
    t = np.linspace(box.lo[0], box.hi[0], line_points)
    x = np.tile((box.lo + box.hi) / 2, (line_points, 1))
    x[:, 0] = t
    rest = f"{label[1]}, {label[2]}" if d == 3 else f"{label[1]}..{label[-1]}"
    return PlotGrid(x, "line", (t,), f"{label[0]} ({rest} at the box centre)", log_x=box.scale == "log")


def problem_grid(problem) -> PlotGrid:
    """plot_grid of the problem's box, its axes labelled by the problem's state names."""
    return plot_grid(problem.domain, names=getattr(problem, "state_names", None))


def action_labels(problem, m: int) -> list[str]:
    """The problem's m action names, a0… where it declares none."""
    names = getattr(problem, "action_names", None)
    return list(names) if names is not None and len(names) == m else [f"a{j}" for j in range(m)]


def _columns(values: np.ndarray) -> np.ndarray:
    v = np.asarray(values, dtype=float)
    return v.reshape(len(v), -1)


def _draw(fig: Figure, ax, grid: PlotGrid, values: np.ndarray, label: str | None = None, style: str = "-"):
    """Draw values (n,) on the grid: a curve, or a colour map with a colour bar."""
    if grid.kind == "line":
        ax.plot(grid.coords[0], values, style, label=label)
        ax.set_xlabel(grid.xlabel)
        if grid.log_x:
            ax.set_xscale("log")
        return
    k0, k1 = len(grid.coords[0]), len(grid.coords[1])
    z = np.asarray(values, dtype=float).reshape(k0, k1).T  # rows: x1, columns: x0 (first axis slowest)
    mesh = ax.pcolormesh(grid.coords[0], grid.coords[1], np.where(np.isfinite(z), z, np.nan), shading="auto")
    fig.colorbar(mesh, ax=ax)
    ax.set_xlabel(grid.xlabel)
    ax.set_ylabel(grid.ylabel)
    if label:
        ax.set_title(label)


def value_figure(solution, grid: PlotGrid | None = None) -> Figure:
    """V_θ on the problem's box, its axes labelled by the state names."""
    grid = grid or problem_grid(solution.problem)
    fig = Figure(figsize=(6, 4.5), layout="constrained")
    ax = fig.add_subplot()
    _draw(fig, ax, grid, solution.value(grid.x))
    ax.set_title(f"value V(x) — {solution.problem.name}")
    return fig


def policy_figure(solution, grid: PlotGrid | None = None) -> Figure:
    """Each component α_j of the final policy on the problem's box, labelled by its action name."""
    grid = grid or problem_grid(solution.problem)
    actions = _columns(solution.action(grid.x))
    m = actions.shape[1]
    labels = action_labels(solution.problem, m)
    fig = Figure(figsize=(5 * m if grid.kind == "map" else 6, 4.5), layout="constrained")
    if grid.kind == "line":
        ax = fig.add_subplot()
        for j in range(m):
            _draw(fig, ax, grid, actions[:, j], label=labels[j])
        ax.legend()
        ax.set_title(f"policy α(x) ({solution.policy.kind}) — {solution.problem.name}")
        return fig
    for j in range(m):
        _draw(fig, fig.add_subplot(1, m, j + 1), grid, actions[:, j], label=labels[j])
    fig.suptitle(f"policy α(x) ({solution.policy.kind}) — {solution.problem.name}")
    return fig


def _positive_series(history: list[dict], key: str) -> tuple[list[int], list[float]]:
    points = [(r["iteration"] + 1, r.get(key)) for r in history]
    kept = [(i, float(v)) for i, v in points if isinstance(v, (int, float)) and math.isfinite(v) and v > 0]
    return [i for i, _ in kept], [v for _, v in kept]


def convergence_figure(history: list[dict], title: str = "policy iteration") -> Figure:
    """HJB residual rms (relative to ρ·scale) and relative value change per PI iteration, log scale."""
    fig = Figure(figsize=(6, 4.5), layout="constrained")
    ax = fig.add_subplot()
    drawn = False
    for key, label in (("hjb_residual_rms", "HJB residual rms / (ρ·scale)"), ("value_change", "relative value change")):
        its, values = _positive_series(history, key)
        if its:
            ax.semilogy(its, values, "o-", label=label)
            drawn = True
    if drawn:
        ax.legend()
    else:
        ax.text(0.5, 0.5, "no completed PI iteration", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel("PI iteration")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(title)
    return fig


def comparison_figure(grid: PlotGrid, computed: np.ndarray, reference: np.ndarray, name: str, title: str,
                      components: Sequence[str] | None = None) -> Figure:
    """Computed vs reference for each column of (n,) or (n, m) arrays: overlaid curves, or maps with the error; column
    j is labelled components[j] (e.g. the action names) when given, else name + j (name alone for one column)."""
    comp, ref = _columns(computed), _columns(reference)
    m = comp.shape[1]
    labels = list(components) if components is not None and len(components) == m else \
        [f"{name}{j}" if m > 1 else name for j in range(m)]
    if grid.kind == "line":
        fig = Figure(figsize=(6 * m, 4.5), layout="constrained")
        for j in range(m):
            ax = fig.add_subplot(1, m, j + 1)
            _draw(fig, ax, grid, comp[:, j], label=f"{labels[j]} solver")
            _draw(fig, ax, grid, ref[:, j], label=f"{labels[j]} closed form", style="--")
            ax.legend()
    else:
        fig = Figure(figsize=(15, 4.2 * m), layout="constrained")
        for j in range(m):
            panels = ((comp[:, j], "solver"), (ref[:, j], "closed form"), (comp[:, j] - ref[:, j], "solver − closed form"))
            for i, (values, label) in enumerate(panels):
                _draw(fig, fig.add_subplot(m, 3, 3 * j + i + 1), grid, values, label=f"{labels[j]} {label}")
    fig.suptitle(title)
    return fig


def save_figure(fig: Figure, path: str | os.PathLike) -> Path:
    """Render the figure to PNG and write it atomically."""
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    return atomic_write_bytes(path, buffer.getvalue())


def curves_over_time_figure(x: np.ndarray, times, computed: list[np.ndarray], reference: list[np.ndarray],
                            name: str, title: str, xlabel: str = "x") -> Figure:
    """One curve per time t (solver solid, closed form dashed, same colour) of (n,) values on 1-D points x (n, 1),
    the x axis labelled xlabel (the state's name)."""
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.add_subplot()
    for k, t in enumerate(times):
        line, = ax.plot(x[:, 0], computed[k], "-", label=f"t = {t:g} solver")
        ax.plot(x[:, 0], reference[k], "--", color=line.get_color(), label=f"t = {t:g} closed form")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(name)
    ax.legend(fontsize="small", ncol=2)
    ax.set_title(title)
    return fig


def samples_figure(samples: dict[str, np.ndarray], title: str, grid: np.ndarray | None = None,
                   density: np.ndarray | None = None) -> Figure:
    """Samples (n, d) side by side: d = 1 overlaid histograms (with the density (k,) on grid (k, 1) if given),
    d ≥ 2 one scatter of the first two coordinates per sample set, on shared axes."""
    first = next(iter(samples.values()))
    if first.shape[1] == 1:
        fig = Figure(figsize=(7, 4.5), layout="constrained")
        ax = fig.add_subplot()
        for label, z in samples.items():
            ax.hist(z[:, 0], bins=120, density=True, histtype="step", label=f"{label} (n = {len(z)})")
        if grid is not None and density is not None:
            ax.plot(grid[:, 0], density, "k--", label="data density")
        ax.set_xlabel("x")
        ax.legend(fontsize="small")
    else:
        fig = Figure(figsize=(5 * len(samples), 4.8), layout="constrained")
        every = np.concatenate([z[:, :2] for z in samples.values()])
        lo, hi = every.min(axis=0), every.max(axis=0)
        for i, (label, z) in enumerate(samples.items()):
            ax = fig.add_subplot(1, len(samples), i + 1)
            ax.scatter(z[:, 0], z[:, 1], s=1, alpha=0.3)
            ax.set(title=f"{label} (n = {len(z)})", xlabel="x0", ylabel="x1", xlim=(lo[0], hi[0]), ylim=(lo[1], hi[1]))
    fig.suptitle(title)
    return fig
