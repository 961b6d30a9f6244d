"""The README's own PDE file (examples/my_lqr2d.py) solves with `hjb solve`, exports with `hjb export`,
and the exported grid matches that problem's Riccati solution within the quick-suite 2-D tolerances."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from hjb.validation.metrics import columnwise_rel_l2, rel_l2
from hjb.validation.riccati import discounted_riccati

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "my_lqr2d.py"


def hjb(*args, cwd):
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "hjb.cli", *args], capture_output=True, text=True,
                          timeout=900, env=env, cwd=cwd)


def test_readme_pde_file_solves_exports_and_matches_riccati(tmp_path):
    run_dir = tmp_path / "run"
    solved = hjb("solve", str(EXAMPLE), "--out", str(run_dir), "--quiet", cwd=tmp_path)
    assert solved.returncode == 0, solved.stderr
    grid_file = tmp_path / "grid.npz"
    exported = hjb("export", str(run_dir), "--points", "41", "--format", "npz", "--out", str(grid_file), cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    grid = np.load(grid_file)
    assert grid["x"].shape == (41 * 41, 2) and grid["policy"].shape == (41 * 41, 2)
    assert json.loads(str(grid["meta"]))["problem"] == "my_lqr2d"
    exact = discounted_riccati(
        A=[[-0.4, 0.3], [0.2, -0.6]], B=[[1.0, 0.0], [0.5, 1.0]], Q=[[1.0, 0.2], [0.2, 0.5]],
        R=[[0.2, 0.0], [0.0, 0.3]], D=[[0.3, 0.0], [0.1, 0.2]], discount=0.1,
    )
    assert rel_l2(grid["value"], exact.value(grid["x"])) <= 5e-3
    assert columnwise_rel_l2(grid["policy"], exact.policy(grid["x"])) <= 1e-2
