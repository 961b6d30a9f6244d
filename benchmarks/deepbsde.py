"""DeepBSDE (hjb.baselines.deepbsde, deepbsde_stationary) on its own benchmark and on a coupled 10-D LQR.

python benchmarks/deepbsde.py [--seeds 0 1 2] [--skip-hjb] [--skip-lqr] [--out FILE]

HJB-LQ (Han et al.): u_t + Δu − λ|∇u|² = 0, u(1, x) = ln((1 + |x|²)/2), d = 100, u(0, 0) at λ ∈ {1, 10} with the
default DeepBSDESettings, against the exact value (hjb.validation.hjb_lqg, Cole–Hopf by quadrature).
LQR: the stationary variant with its default settings on the full suite's lqr10d (hjb.pdes.lqr.coupled_lqr(10):
d = 10, m = 2, ρ = 0.1, box [−1, 1]^10), value and policy (worst component) relative L2 errors against Riccati on
the validation case's 10⁴ uniform points of the box.
One thread; per row the mean, the spread (min–max) over the seeds and the training seconds.
Writes benchmarks/results/deepbsde.json.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from hjb.baselines.deepbsde import DeepBSDESettings, hjb_lq, solve_deepbsde
from hjb.baselines.deepbsde_stationary import StationaryBSDESettings, solve_stationary_bsde
from hjb.io.atomic import atomic_write_text
from hjb.io.jsonio import dumps
from hjb.validation.cases import measure_points
from hjb.validation.hjb_lqg import hjb_lqg_value
from hjb.validation.metrics import columnwise_rel_l2, rel_l2
from hjb.validation.riccati import lqr_solution
from hjb.validation.suites import lqr10d

DIM, LAMBDAS, EVAL_POINTS = 100, (1.0, 10.0), 10_000


def hjb_run(lam: float, seed: int) -> dict:
    """u(0, 0) of HJB-LQ (d = 100) by DeepBSDE at one seed, with its relative error."""
    exact = float(hjb_lqg_value(0.0, np.zeros((1, DIM)), lam)[0])
    result = solve_deepbsde(hjb_lq(DIM, lam), DeepBSDESettings(seed=seed))
    return {"lambda": lam, "seed": seed, "u00": result.y0, "exact": exact,
            "rel_error": abs(result.y0 - exact) / exact, "seconds": result.seconds,
            "final_loss": float(result.losses[-100:].mean())}


def lqr_run(seed: int) -> dict:
    """Value and policy relative L2 errors of the stationary variant on lqr10d() at one training seed."""
    problem = lqr10d()
    sol = lqr_solution(problem)
    result = solve_stationary_bsde(problem, StationaryBSDESettings(seed=seed))
    x = measure_points(problem.domain, 0, EVAL_POINTS)
    return {"seed": seed, "value_rel_l2": rel_l2(result.value(x), sol.value(x)),
            "policy_rel_l2": columnwise_rel_l2(result.policy(x), sol.policy(x)), "seconds": result.seconds,
            "final_loss": float(result.losses[-100:].mean())}


def summary(runs: list[dict], key: str) -> str:
    """'mean [min, max]' of runs[i][key], u(0, 0) to 6 decimals, errors and seconds to 3 digits."""
    values = np.array([run[key] for run in runs])
    form = ".6f" if key == "u00" else ".3g"
    return f"{values.mean():{form}} [{values.min():{form}}, {values.max():{form}}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--skip-hjb", action="store_true")
    parser.add_argument("--skip-lqr", action="store_true")
    parser.add_argument("--out", default="benchmarks/results/deepbsde.json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    out: dict = {"seeds": args.seeds, "hjb_lq": {}, "lqr10d": []}
    print(f"{'case':28s} {'mean':>10s} [min, max] over seeds {args.seeds}")
    if not args.skip_hjb:
        for lam in LAMBDAS:
            runs = [hjb_run(lam, seed) for seed in args.seeds]
            out["hjb_lq"][str(lam)] = runs
            print(f"HJB-LQ λ={lam:g}: exact u(0,0) = {runs[0]['exact']:.6f}")
            for key in ("u00", "rel_error", "seconds"):
                print(f"  {key:26s} {summary(runs, key)}")
    if not args.skip_lqr:
        runs = [lqr_run(seed) for seed in args.seeds]
        out["lqr10d"] = runs
        print("LQR d=10, m=2, ρ=0.1, [−1, 1]^10")
        for key in ("value_rel_l2", "policy_rel_l2", "seconds"):
            print(f"  {key:26s} {summary(runs, key)}")
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, dumps(out))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
