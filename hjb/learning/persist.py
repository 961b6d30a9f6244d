"""Learned runs on disk (kind "learned", format version 4 of hjb.io.rundir's marker): hjb-run.json (method, status,
transitions, seconds of collecting and learning, the environment's description), settings.json, history.json,
weights.pt (J's and the head's weights, buffers such as J's output scale included), environment.py (a copy of the
environment file, which rebuilds the environment), value.png and policy.png; written atomically, read back into a
LearnedRun."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import torch

from hjb.errors import HJBError, RunDirError
from hjb.io.atomic import atomic_directory
from hjb.io.envfile import load_environment
from hjb.io.jsonio import dumps
from hjb.io.plots import policy_figure, problem_grid, save_figure, value_figure
from hjb.io.rundir import LEARNED, marker_header, read_marker
from hjb.learning.learned import LearnedSolution
from hjb.learning.learned_run import LearnedRun
from hjb.learning.learner import make_head
from hjb.nn.value_network import ValueNetwork
from hjb.settings import QLearningSettings
from hjb.solvers.solution import RUN_MARKER

ENV_FILE = "environment.py"
FILES = ("settings.json", "history.json", "weights.pt", ENV_FILE)


def save_learned(run: LearnedRun, run_dir: str | os.PathLike, source_file: str | os.PathLike, seconds: float,
                 data: str | os.PathLike | None = None) -> Path:
    """Write the learned run's directory atomically (replacing an earlier run there); `data` names the transitions
    file it learnt from (None: collected from the environment); return its path."""
    run_dir, source, solution, env = Path(run_dir), Path(source_file), run.solution, run.problem
    marker = {
        **marker_header(LEARNED, solution.status),
        "method": solution.method,
        "temperature": solution.settings.temperature,
        "transitions": solution.transitions,
        "data": "collected" if data is None else str(Path(data).resolve()),
        "seconds": seconds,
        "source_file": str(source.resolve()),
        "environment": env.describe(),
    }
    grid = problem_grid(env)
    with atomic_directory(run_dir, marker=RUN_MARKER) as temp:
        shutil.copyfile(source, temp / ENV_FILE)
        (temp / "settings.json").write_text(dumps(solution.settings.to_dict()), encoding="utf-8")
        (temp / "history.json").write_text(dumps(solution.history), encoding="utf-8")
        torch.save(solution.state(), temp / "weights.pt")
        save_figure(value_figure(run, grid), temp / "value.png")
        save_figure(policy_figure(run, grid), temp / "policy.png")
        (temp / RUN_MARKER).write_text(dumps(marker), encoding="utf-8")  # last: marks a complete run
    return run_dir


def load_learned(run_dir: str | os.PathLike) -> LearnedRun:
    """The LearnedRun saved in run_dir: the environment rebuilt from its environment.py, J = ValueNetwork(domain, width,
    depth) and the head of make_head(settings, …, reward_scale=1.0) given their saved weights; RunDirError otherwise."""
    run_dir = Path(run_dir)
    marker = read_marker(run_dir)
    if marker["kind"] != LEARNED:
        raise RunDirError(f"run directory {run_dir} is a {marker['kind'].replace('_', '-')} run; expected the output "
                          "of `hjb learn`")
    missing = [name for name in FILES if not (run_dir / name).is_file()]
    if missing:
        raise RunDirError(f"run directory {run_dir} is missing {', '.join(missing)}; expected the output of `hjb learn`")
    try:
        env, _ = load_environment(run_dir / ENV_FILE)
    except HJBError as exc:
        raise RunDirError(f"run directory {run_dir}: its {ENV_FILE} no longer loads ({exc})") from exc
    try:
        settings = QLearningSettings.from_dict(json.loads((run_dir / "settings.json").read_text(encoding="utf-8")))
        history = json.loads((run_dir / "history.json").read_text(encoding="utf-8"))
        weights = torch.load(run_dir / "weights.pt", weights_only=True)
        J = ValueNetwork(env.domain, settings.width, settings.depth)
        head = make_head(settings, env.domain, env.action_low, env.action_high, J, reward_scale=1.0)
        J.load_state(weights["value"])
        head.load_state(weights["head"])
        solution = LearnedSolution(J, head, env.domain, env.action_low, env.action_high, env.discount, history,
                                   settings, marker.get("status", "unknown"), name=env.name,
                                   transitions=int(marker["transitions"]))
        return LearnedRun(solution, env)
    except (OSError, ValueError, KeyError, RuntimeError, TypeError, HJBError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else ""
        raise RunDirError(f"run directory {run_dir} is damaged ({type(exc).__name__}: {reason}); expected files "
                          f"written by `hjb learn` with this {ENV_FILE}") from exc
