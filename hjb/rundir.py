"""Run directories: a solved problem on disk (marker, settings, history, weights, PDE source, plots)."""
from __future__ import annotations

import datetime
import json
import os
import shutil
from pathlib import Path

import torch

from hjb import __version__
from hjb.atomic import atomic_directory
from hjb.critic import Critic
from hjb.errors import PDEFileError, RunDirError
from hjb.jsonio import dumps
from hjb.pdefile import load_problem
from hjb.plots import convergence_figure, plot_grid, policy_figure, save_figure, value_figure
from hjb.policies import ActorPolicy, GreedyPolicy, InitialPolicy
from hjb.settings import SolverSettings
from hjb.solution import RUN_MARKER, Solution

FORMAT = "hjb-run"
FORMAT_VERSION = 1
FILES = ("settings.json", "history.json", "weights.pt", "problem.py")


def save_run(solution: Solution, run_dir: str | os.PathLike, source_file: str | os.PathLike) -> Path:
    """Write the solution's run directory atomically (replacing an earlier run there); return its path."""
    run_dir, source = Path(run_dir), Path(source_file)
    history = solution.history
    marker = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "hjb_version": __version__,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "status": solution.status,
        "iterations": solution.iterations,
        "final_hjb_residual_rms": history[-1]["hjb_residual_rms"] if history else None,
        "source_file": str(source.resolve()),
        "problem": solution.problem.describe(),
    }
    actor = solution.policy.state() if solution.policy.kind == "actor" else None
    weights = {"critic": solution.critic.state(), "actor": actor, "policy_kind": solution.policy.kind}
    grid = plot_grid(solution.problem.domain)
    with atomic_directory(run_dir, marker=RUN_MARKER) as temp:
        shutil.copyfile(source, temp / "problem.py")
        (temp / "settings.json").write_text(dumps(solution.settings.to_dict()), encoding="utf-8")
        (temp / "history.json").write_text(dumps(history), encoding="utf-8")
        torch.save(weights, temp / "weights.pt")
        save_figure(value_figure(solution, grid), temp / "value.png")
        save_figure(policy_figure(solution, grid), temp / "policy.png")
        save_figure(convergence_figure(history, f"policy iteration — {solution.problem.name}"), temp / "convergence.png")
        (temp / RUN_MARKER).write_text(dumps(marker), encoding="utf-8")  # last: marks a complete run
    return run_dir


def read_marker(run_dir: str | os.PathLike) -> dict:
    """The parsed hjb-run.json of run_dir; RunDirError when run_dir is not a run directory."""
    run_dir = Path(run_dir)
    path = run_dir / RUN_MARKER
    if not path.is_file():
        raise RunDirError(
            f"{run_dir} is not an hjb run directory (no {RUN_MARKER}); expected the output of `hjb solve`"
        )
    try:
        marker = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RunDirError(f"{path} is unreadable ({type(exc).__name__}); expected the JSON written by `hjb solve`") from None
    if not isinstance(marker, dict) or marker.get("format") != FORMAT:
        raise RunDirError(f"{path} is not an hjb run marker; expected \"format\": \"{FORMAT}\"")
    if marker.get("format_version") != FORMAT_VERSION:
        raise RunDirError(
            f"{run_dir} has run format version {marker.get('format_version')!r}; this hjb reads version {FORMAT_VERSION}"
        )
    return marker


def load_run(run_dir: str | os.PathLike) -> Solution:
    """Rebuild the Solution saved in run_dir: problem from problem.py, settings, critic and policy weights."""
    run_dir = Path(run_dir)
    marker = read_marker(run_dir)
    missing = [name for name in FILES if not (run_dir / name).is_file()]
    if missing:
        raise RunDirError(f"run directory {run_dir} is missing {', '.join(missing)}; expected the output of `hjb solve`")
    try:
        problem, _ = load_problem(run_dir / "problem.py")
    except PDEFileError as exc:
        raise RunDirError(f"run directory {run_dir}: its problem.py no longer loads ({exc})") from exc
    try:
        settings = SolverSettings.from_dict(json.loads((run_dir / "settings.json").read_text(encoding="utf-8")))
        history = json.loads((run_dir / "history.json").read_text(encoding="utf-8"))
        weights = torch.load(run_dir / "weights.pt", weights_only=True)
        critic = Critic(problem.domain, settings.width, settings.depth)
        critic.load_state(weights["critic"])
        policy = _policy(problem, critic, settings, weights)
    except (OSError, ValueError, KeyError, RuntimeError, TypeError) as exc:
        raise RunDirError(
            f"run directory {run_dir} is damaged ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); "
            "expected files written by `hjb solve` with this problem.py"
        ) from exc
    return Solution(problem, critic, policy, history, settings, status=marker.get("status", "unknown"))


def _policy(problem, critic: Critic, settings: SolverSettings, weights: dict):
    kind = weights.get("policy_kind")
    if kind == "greedy":
        return GreedyPolicy(problem, critic)
    if kind == "actor":
        actor = ActorPolicy(problem, settings.actor_width, settings.actor_depth, critic)
        actor.net.load_state_dict(weights["actor"])
        return actor
    return InitialPolicy(problem)
