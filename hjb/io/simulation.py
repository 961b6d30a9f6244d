"""`hjb simulate`'s output directory, written atomically (complete or absent): simulation.npz (the rollouts),
simulation.json (the summary: mean total discounted reward ± its standard error, and the settings) and
simulation.png (a few paths per state component against t, the mean cumulative reward ± 2 s.e.)."""
from __future__ import annotations

import io
import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from hjb.io.atomic import atomic_directory
from hjb.io.jsonio import dumps
from hjb.io.plots import save_figure
from hjb.montecarlo.simulate import Rollout

MARKER = "simulation.json"  # written last; a directory holding it may be overwritten by the next simulation
PLOTTED_PATHS = 5
PLOTTED_COMPONENTS = 4  # state panels drawn at most (the first components)


def summary(learned: Rollout, optimal: Rollout | None, settings: dict) -> dict:
    """JSON-ready summary: `settings` (run, problem, x0, N, T, dt, seed, …), the learned policy's mean total reward
    and its s.e. std/√N; with the optimal policy's rollout on the same noise, its mean ± s.e. and the paired gap
    (learned − optimal, per path, then mean ± s.e.: common random numbers make it sharper than either)."""
    data = {**settings, "mean_reward": learned.mean(), "stderr": learned.stderr(), "optimal": None}
    if optimal is not None:
        gap = learned.final - optimal.final
        data["optimal"] = {"mean_reward": optimal.mean(), "stderr": optimal.stderr(), "gap_mean": float(gap.mean()),
                           "gap_stderr": float(gap.std(ddof=1) / math.sqrt(len(gap))) if len(gap) > 1 else 0.0}
    return data


def arrays(learned: Rollout, optimal: Rollout | None) -> dict[str, np.ndarray]:
    """The NPZ keys: times (S+1,), paths (N, S+1, d), actions (N, S, m), cumulative (N, S+1); with the optimal
    policy paths_optimal, actions_optimal, cumulative_optimal of the same shapes."""
    data = {"times": learned.times, "paths": learned.paths, "actions": learned.actions,
            "cumulative": learned.cumulative}
    if optimal is not None:
        data.update(paths_optimal=optimal.paths, actions_optimal=optimal.actions,
                    cumulative_optimal=optimal.cumulative)
    return data


def write_simulation(out_dir: str | os.PathLike, learned: Rollout, optimal: Rollout | None, settings: dict,
                     state_names: Sequence[str], title: str) -> Path:
    """Write simulation.npz, simulation.json and simulation.png into out_dir atomically (an existing out_dir is
    replaced only when empty or an earlier simulation's); return out_dir."""
    out = Path(out_dir)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays(learned, optimal))
    figure = simulation_figure(learned, optimal, state_names, title)
    with atomic_directory(out, marker=MARKER) as temp:
        (temp / "simulation.npz").write_bytes(buffer.getvalue())
        save_figure(figure, temp / "simulation.png")
        (temp / MARKER).write_text(dumps(summary(learned, optimal, settings)), encoding="utf-8")
    return out


def simulation_figure(learned: Rollout, optimal: Rollout | None, state_names: Sequence[str], title: str) -> Figure:
    """One panel per state component (the first PLOTTED_COMPONENTS): PLOTTED_PATHS paths against t, the learned
    policy's solid and the optimal policy's on the same noise dashed in the same colour; a last panel: the mean
    cumulative discounted reward ± 2 s.e. of each policy."""
    d = learned.paths.shape[2]
    shown = min(d, PLOTTED_COMPONENTS)
    fig = Figure(figsize=(8, 2.4 * (shown + 1)), layout="constrained")
    t = learned.times
    for i in range(shown):
        ax = fig.add_subplot(shown + 1, 1, i + 1)
        for j in range(min(PLOTTED_PATHS, len(learned.paths))):
            line, = ax.plot(t, learned.paths[j, :, i], "-", lw=1)
            if optimal is not None:
                ax.plot(t, optimal.paths[j, :, i], "--", lw=1, color=line.get_color())
        ax.set_ylabel(state_names[i])
        if i == 0:
            ax.set_title(f"{min(PLOTTED_PATHS, len(learned.paths))} paths: learned policy (solid)"
                         + (", optimal policy on the same noise (dashed)" if optimal is not None else "")
                         + (f"; first {shown} of {d} components" if shown < d else ""), fontsize="small")
    ax = fig.add_subplot(shown + 1, 1, shown + 1)
    for rollout, label in ((learned, "learned"), (optimal, "optimal")):
        if rollout is None:
            continue
        mean = rollout.cumulative.mean(axis=0)
        band = 2.0 * rollout.cumulative.std(axis=0, ddof=1) / math.sqrt(len(rollout.cumulative)) \
            if len(rollout.cumulative) > 1 else np.zeros_like(mean)
        line, = ax.plot(t, mean, label=f"{label}: {rollout.mean():.4g} ± {rollout.stderr():.2g} (s.e.)")
        ax.fill_between(t, mean - band, mean + band, color=line.get_color(), alpha=0.25)
    ax.set_xlabel("t")
    ax.set_ylabel("cumulative discounted reward")
    ax.legend(fontsize="small", title="final mean ± s.e.; band: mean ± 2 s.e.", title_fontsize="small")
    fig.suptitle(title)
    return fig
