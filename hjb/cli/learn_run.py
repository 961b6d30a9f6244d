"""`hjb learn` as a function: environment file → transitions (a --data file, or collected from the environment under
uniform exploration) → model-free learning (hjb.learning.learner.learn) → a learned run directory."""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from hjb.errors import ProblemError
from hjb.io.atomic import check_replaceable
from hjb.io.envfile import load_environment
from hjb.learning.learned_run import LearnedRun
from hjb.learning.learner import learn
from hjb.learning.persist import save_learned
from hjb.learning.transitions import collect_transitions, load_transitions
from hjb.settings import QLEARNING_SETTINGS
from hjb.solvers.solution import RUN_MARKER

COLLECT_SEED = 2  # the collection's numpy seed is settings.seed + 2 (the learner's probe points take seed + 1)


def learn_file(path: str | os.PathLike, out_dir: str | os.PathLike | None = None, *, transitions: int | None = None,
               method: str | None = None, temperature: float | None = None, seed: int | None = None,
               data: str | os.PathLike | None = None, progress: bool = True) -> tuple[LearnedRun, Path]:
    """Load the environment file, learn from `data`'s transitions or settings.transitions collected from its `env`
    (the file's settings or QLEARNING_SETTINGS; the keyword arguments override their fields), save the run to
    out_dir (default runs/<env name>); return both. Every input is checked before any learning."""
    env, settings = load_environment(path)
    overrides = {"transitions": transitions, "method": method, "temperature": temperature, "seed": seed}
    settings = (settings or QLEARNING_SETTINGS).replace(**{k: v for k, v in overrides.items() if v is not None})
    if data is not None and transitions is not None:
        raise ProblemError("--transitions sets how many transitions to collect, and --data brings its own; expected "
                           "one of them")
    run_dir = Path(out_dir) if out_dir is not None else Path("runs") / env.name
    check_replaceable(run_dir, RUN_MARKER)  # refuse an --out that cannot become a run directory before learning
    start = time.perf_counter()
    if data is not None:
        try:
            rows = load_transitions(data)
        except ProblemError as exc:  # NaN, shapes, dt ≤ 0: say which file (class kept)
            if str(data) not in str(exc):
                exc.args = (f"--data {data}: {exc}",) + exc.args[1:]
            raise
        if (rows.state_dim, rows.action_dim) != (env.state_dim, env.action_dim):
            raise ProblemError(f"--data {data}: transitions with d = {rows.state_dim}, m = {rows.action_dim}; "
                               f"environment {env.name!r} has d = {env.state_dim}, m = {env.action_dim}")
    else:
        rng = np.random.default_rng(settings.seed + COLLECT_SEED)
        rows = collect_transitions(env, settings.transitions, rng, settings.episode_steps)
    solution = learn(rows, env.domain, env.action_low, env.action_high, env.discount, settings, progress=progress,
                     name=env.name)
    run = LearnedRun(solution, env)
    return run, save_learned(run, run_dir, path, seconds=time.perf_counter() - start, data=data)
