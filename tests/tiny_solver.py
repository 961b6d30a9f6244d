"""Helpers for the pipeline tests: tiny solver settings, PDE file sources, hand-built solutions (no training)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from hjb.nn.value_network import ValueNetwork
from hjb.settings import SolverSettings
from hjb.solvers.policies import ActorPolicy, GreedyPolicy, InitialPolicy
from hjb.solvers.solution import Solution

# A solve in a few seconds: accuracy is irrelevant here, only that the pipeline runs end to end.
TINY = {
    "width": 8, "depth": 1, "adam_steps_first": 20, "adam_steps": 10, "anchored_adam_steps": 10, "lbfgs_steps": 5,
    "max_iterations": 1, "min_iterations": 0, "anchors": 4, "anchor_paths": 8, "anchor_horizon": 0.5,
    "collocation": 32, "probe_points": 64,
}
TINY_SETTINGS = SolverSettings(**TINY)
SETTINGS_LINE = f"settings = SolverSettings(**{TINY!r})\n"

LQR1D_FILE = "from hjb.pdes import seed_lqr\nfrom hjb.settings import SolverSettings\nproblem = seed_lqr()\n" + SETTINGS_LINE

LQR2D_FILE = (
    "from hjb.pdes import StochasticLQR\n"
    "problem = StochasticLQR(A=[[-0.5, 0.4], [-0.3, -0.8]], B=[[1.0, 0.2], [0.0, 0.7]], Q=[[1, 0], [0, 1]],\n"
    "                        R=[[0.2, 0], [0, 0.1]], D=[[0.3, 0], [0, 0.3]], discount=0.1, name='lqr2d')\n"
)

MERTON_FILE = "from hjb.pdes import Merton\nproblem = Merton()\n"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def hand_built(problem, kind: str = "greedy", settings: SolverSettings = TINY_SETTINGS, history=None) -> Solution:
    """A Solution with an untrained critic (seeded) and the requested policy kind: no training involved."""
    import torch

    torch.manual_seed(0)
    critic = ValueNetwork(problem.domain, settings.width, settings.depth)
    critic.set_output_scale(-1.0, 2.0)
    if kind == "greedy":
        policy = GreedyPolicy(problem, critic)
    elif kind == "actor":
        policy = ActorPolicy(problem, settings.actor_width, settings.actor_depth, critic)
    else:
        policy = InitialPolicy(problem)
    if history is None:
        history = [{"iteration": 0, "hjb_residual_rms": 1.5, "value_change": float("inf"), "pde_loss": 0.1,
                    "anchor_loss": 0.2}]
    return Solution(problem, critic, policy, history, settings, status="not_converged")


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 120, progress: bool = False
            ) -> subprocess.CompletedProcess:
    """`python -m hjb.cli ARGS` in a subprocess (one torch thread), capturing text output; progress=True forces the
    progress display on although stderr is not a terminal (HJB_PROGRESS=1)."""
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", HJB_PROGRESS="1" if progress else "0")
    return subprocess.run(
        [sys.executable, "-m", "hjb.cli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
        check=False,
    )


def error_line(result: subprocess.CompletedProcess) -> str:
    """The single stderr line of a failed command (asserting there is exactly one, starting `hjb: error:`)."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("hjb: error: "), lines[0]
    return lines[0]
