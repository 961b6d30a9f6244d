"""`hjb sample` as a function: a DiffusionModel run directory → n samples from its learned control → a file."""
from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from hjb.errors import ProblemError, RunDirError, positive_int
from hjb.io.atomic import atomic_file

SAMPLE_FORMATS = (".npy", ".npz", ".csv")
DEFAULT_STEPS = 200


def check_out(out_path: str | os.PathLike) -> Path:
    """out_path if it ends in .npy, .npz or .csv and is not a directory, else ProblemError."""
    out = Path(out_path)
    if out.suffix.lower() not in SAMPLE_FORMATS:
        raise ProblemError(f"cannot write samples to {out}: unknown extension {out.suffix or '(none)'!r}; "
                           f"expected one of {', '.join(SAMPLE_FORMATS)}")
    if out.is_dir():
        raise ProblemError(f"cannot write samples to {out}: it is a directory; expected a file path")
    return out


def write_samples(samples: np.ndarray, out_path: str | os.PathLike) -> Path:
    """Write samples (n, d) atomically: .npy (the array), .npz (key `samples`) or .csv (header x0, …, x{d−1})."""
    out = check_out(out_path)
    suffix = out.suffix.lower()
    if suffix == ".csv":
        buffer = io.StringIO()
        header = ",".join(f"x{i}" for i in range(samples.shape[1]))
        np.savetxt(buffer, samples, delimiter=",", header=header, comments="", fmt="%.17g")
        payload = buffer.getvalue().encode("utf-8")
    else:
        buffer = io.BytesIO()
        if suffix == ".npy":
            np.save(buffer, samples)
        else:
            np.savez(buffer, samples=samples)
        payload = buffer.getvalue()
    with atomic_file(out) as temp:
        temp.write_bytes(payload)
    return out


def sample_run(run_dir: str | os.PathLike, n: int, out_path: str | os.PathLike, steps: int = DEFAULT_STEPS,
               seed: int = 0) -> tuple[np.ndarray, Path]:
    """Draw n samples (n, d) with the learned control of a DiffusionModel run (hjb.montecarlo.sampler.sample, `steps`
    reverse-time Euler–Maruyama steps, numpy seed `seed`), write them to out_path; return both.
    Every argument is checked before anything is computed or written."""
    from hjb.io.rundir import load_run
    from hjb.montecarlo.sampler import learned_control, sample
    from hjb.pdes.diffusion_model import DiffusionModel

    n, steps = positive_int(n, "--n"), positive_int(steps, "--steps")
    out = check_out(out_path)
    solution = load_run(run_dir)
    problem = solution.problem
    if not isinstance(problem, DiffusionModel):
        raise RunDirError(f"run directory {run_dir} holds problem {problem.name!r}, a {type(problem).__name__}; "
                          "`hjb sample` needs the run of a DiffusionModel")
    samples = sample(problem, learned_control(solution), n, np.random.default_rng(seed), steps=steps)
    return samples, write_samples(samples, out)
