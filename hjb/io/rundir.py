"""Run directories: a solved problem on disk (marker, settings, history, weights, PDE source, plots).

Four kinds share the marker format: infinite-horizon runs (a ControlProblem; format version 1, as before),
finite-horizon runs (a FiniteHorizonProblem such as a DiffusionModel; format version 2, with "horizon"), residual
PDE runs (a ResidualPDE; format version 3, no convergence plot) and learned runs (`hjb learn`, model-free; format
version 4, written and read by hjb.learning.persist). The
marker's "kind" names which; markers without one (written before finite-horizon runs existed) are
infinite-horizon. An hjb that reads version 1 only refuses a finite-horizon run by its version.
"""
from __future__ import annotations

import dataclasses
import datetime
import json
import os
import shutil
from pathlib import Path

import torch

from hjb import __version__
from hjb.errors import PDEFileError, RunDirError
from hjb.io.atomic import atomic_directory
from hjb.io.jsonio import dumps
from hjb.io.pdefile import load_problem
from hjb.io.plots import convergence_figure, policy_figure, problem_grid, save_figure, value_figure
from hjb.learning.learned_run import LearnedRun
from hjb.nn.value_network import ValueNetwork
from hjb.pdes.finite_horizon import FiniteHorizonProblem
from hjb.pdes.residual_pde import ResidualPDE
from hjb.settings import AnySettings, FiniteHorizonSettings, ResidualSettings, SolverSettings
from hjb.solvers.finite_horizon import TimedPolicy, value_network
from hjb.solvers.policies import ActorPolicy, GreedyPolicy, InitialPolicy
from hjb.solvers.residual import ResidualSolution, residual_network
from hjb.solvers.solution import RUN_MARKER, Solution

FORMAT = "hjb-run"
INFINITE, FINITE, RESIDUAL, LEARNED = "infinite_horizon", "finite_horizon", "residual_pde", "learned"
VERSIONS = {INFINITE: 1, FINITE: 2, RESIDUAL: 3, LEARNED: 4}  # the format version each kind of run is written with
FILES = ("settings.json", "history.json", "weights.pt", "problem.py")



def run_kind(solution: Solution | ResidualSolution | LearnedRun) -> str:
    """The kind of run: LEARNED for a model-free learned run, RESIDUAL for a residual PDE's fit, FINITE for a
    finite-horizon problem's solution, else INFINITE."""
    if isinstance(solution, LearnedRun):
        return LEARNED
    if isinstance(solution, ResidualSolution):
        return RESIDUAL
    return FINITE if solution.finite_horizon else INFINITE


def marker_header(kind: str, status: str) -> dict:
    """The first fields of every run's hjb-run.json: format, its version for the kind, kind, hjb version, creation
    time (UTC), status."""
    return {"format": FORMAT, "format_version": VERSIONS[kind], "kind": kind, "hjb_version": __version__,
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"), "status": status}


def save_run(solution: Solution, run_dir: str | os.PathLike, source_file: str | os.PathLike) -> Path:
    """Write the solution's run directory atomically (replacing an earlier run there); return its path."""
    run_dir, source = Path(run_dir), Path(source_file)
    history, kind = solution.history, run_kind(solution)
    marker = {
        **marker_header(kind, solution.status),
        "iterations": len(history),
        "final_hjb_residual_rms": history[-1].get("hjb_residual_rms") if history else None,
        "source_file": str(source.resolve()),
        "problem": solution.problem.describe(),
    }
    if kind == FINITE:
        marker["horizon"] = solution.problem.horizon
    with atomic_directory(run_dir, marker=RUN_MARKER) as temp:
        shutil.copyfile(source, temp / "problem.py")
        (temp / "settings.json").write_text(dumps(solution.settings.to_dict()), encoding="utf-8")
        (temp / "history.json").write_text(dumps(history), encoding="utf-8")
        if kind == RESIDUAL:
            torch.save({"net": solution.network.state()}, temp / "weights.pt")
        elif kind == FINITE:
            # rate with the weights: value_network(problem, settings, rate) rebuilds the same V
            torch.save({"net": solution.network.state(), "rate": solution.network.rate}, temp / "weights.pt")
        else:
            _save_infinite_horizon(solution, temp)
        if kind != RESIDUAL:  # one fit, no iterations to plot
            save_figure(convergence_figure(history, f"policy iteration — {solution.problem.name}"),
                        temp / "convergence.png")
        (temp / RUN_MARKER).write_text(dumps(marker), encoding="utf-8")  # last: marks a complete run
    return run_dir


def _save_infinite_horizon(solution: Solution, temp: Path) -> None:
    """weights.pt (critic, actor, policy kind), value.png and policy.png of an infinite-horizon run."""
    actor = solution.policy.state() if solution.policy.kind == "actor" else None
    torch.save({"critic": solution.network.state(), "actor": actor, "policy_kind": solution.policy.kind},
               temp / "weights.pt")
    grid = problem_grid(solution.problem)
    save_figure(value_figure(solution, grid), temp / "value.png")
    save_figure(policy_figure(solution, grid), temp / "policy.png")


def read_marker(run_dir: str | os.PathLike) -> dict:
    """The parsed hjb-run.json of run_dir; RunDirError when run_dir is not a run directory."""
    run_dir = Path(run_dir)
    path = run_dir / RUN_MARKER
    if not run_dir.exists():
        raise RunDirError(f"run directory {run_dir} does not exist; expected the output of `hjb solve`")
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
    kind = marker.get("kind", INFINITE)
    if marker.get("format_version") not in VERSIONS.values() or VERSIONS.get(kind) != marker["format_version"]:
        readable = ", ".join(f"{v} ({k.replace('_', '-')})" for k, v in VERSIONS.items())
        raise RunDirError(f"{run_dir} has run format version {marker.get('format_version')!r} of kind {kind!r}; "
                          f"this hjb reads versions {readable}")
    marker["kind"] = kind
    return marker


def load_run(run_dir: str | os.PathLike) -> Solution | ResidualSolution | LearnedRun:
    """Rebuild the solution saved in run_dir from problem.py, settings and weights: a Solution for an
    infinite-horizon run or a finite-horizon one, a ResidualSolution for a residual PDE's, a LearnedRun (from its
    environment.py, hjb.learning.persist) for a learned one."""
    run_dir = Path(run_dir)
    marker = read_marker(run_dir)
    if marker["kind"] == LEARNED:
        from hjb.learning.persist import load_learned  # it writes this module's marker format

        return load_learned(run_dir)
    missing = [name for name in FILES if not (run_dir / name).is_file()]
    if missing:
        raise RunDirError(f"run directory {run_dir} is missing {', '.join(missing)}; expected the output of `hjb solve`")
    try:
        problem, _ = load_problem(run_dir / "problem.py")
    except PDEFileError as exc:
        raise RunDirError(f"run directory {run_dir}: its problem.py no longer loads ({exc})") from exc
    kind = marker["kind"]
    if isinstance(problem, ResidualPDE) != (kind == RESIDUAL) or isinstance(problem, FiniteHorizonProblem) != (
            kind == FINITE):
        raise RunDirError(f"run directory {run_dir} is marked {kind.replace('_', '-')} but its problem.py declares a "
                          f"{type(problem).__name__}; expected the problem it was solved for")
    status = marker.get("status", "unknown")
    try:
        settings = _settings(kind, json.loads((run_dir / "settings.json").read_text(encoding="utf-8")))
        history = json.loads((run_dir / "history.json").read_text(encoding="utf-8"))
        weights = torch.load(run_dir / "weights.pt", weights_only=True)
        if kind == RESIDUAL:
            net = residual_network(problem, settings)
            net.load_state(weights["net"])
            return ResidualSolution(problem, net, history, settings, status)
        if kind == FINITE:
            net = value_network(problem, settings, float(weights["rate"]))
            net.load_state(weights["net"])
            return Solution(problem, net, TimedPolicy(problem, net), history, settings, status)
        critic = ValueNetwork(problem.domain, settings.width, settings.depth)
        critic.load_state(weights["critic"])
        policy = _policy(problem, critic, settings, weights)
    except (OSError, ValueError, KeyError, RuntimeError, TypeError) as exc:
        raise RunDirError(
            f"run directory {run_dir} is damaged ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); "
            "expected files written by `hjb solve` with this problem.py"
        ) from exc
    return Solution(problem, critic, policy, history, settings, status=status)


def _settings(kind: str, data: dict) -> AnySettings:
    """The run's settings: SolverSettings for an infinite-horizon run; FiniteHorizonSettings for a finite-horizon one,
    whose settings.json, when written before each solver had its own settings, also holds the SolverSettings fields
    that solver never read: those are dropped."""
    if kind == RESIDUAL:
        return ResidualSettings.from_dict(data)
    if kind != FINITE:
        return SolverSettings.from_dict(data)
    names = {f.name for f in dataclasses.fields(FiniteHorizonSettings)}
    legacy = set(data) <= {f.name for f in dataclasses.fields(SolverSettings)} | {"visited_fraction"}
    return FiniteHorizonSettings.from_dict({k: v for k, v in data.items() if k in names} if legacy else data)


def _policy(problem, critic: ValueNetwork, settings: SolverSettings, weights: dict):
    kind = weights.get("policy_kind")
    if kind == "greedy":
        return GreedyPolicy(problem, critic)
    if kind == "actor":
        actor = ActorPolicy(problem, settings.actor_width, settings.actor_depth, critic)
        actor.net.load_state_dict(weights["actor"])
        return actor
    return InitialPolicy(problem)
