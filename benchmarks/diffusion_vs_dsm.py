"""PINN on the log-density HJB against denoising score matching (DSM), side by side, on a Gaussian mixture.

python benchmarks/diffusion_vs_dsm.py [--case mixture1d] [--train-samples 10000] [--dsm-steps 40000] [--out benchmarks/results/diffusion_vs_dsm_<case>.json]

Both see the same data law: the PINN through its log-density (the terminal condition), DSM through
`--train-samples` samples of it. Reported per method: log-density rel L2 where p_{T−t} > 1e-3 at several t,
score rel L2 at t = T − 0.1 (same region), the energy distance of 10⁴ samples to 10⁴ fresh data samples
(next to that of two independent data sets), and wall seconds. Exact marginals are used only here.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from hjb.atomic import atomic_write_text
from hjb.finite_horizon_solver import solve_finite_horizon
from hjb.pdes.data_laws import GaussianMixture
from hjb.pdes.diffusion_model import DiffusionModel
from hjb.pdes.noising import VPNoising
from hjb.sampler import learned_control, sample
from hjb.score_matching import train_score_matching
from hjb.settings import SolverSettings
from hjb.validation.energy import energy_distance

CASES = {
    "mixture1d": (
        GaussianMixture([0.3, 0.7], [[-1.5], [1.0]], [[[0.3**2]], [[0.5**2]]]),
        VPNoising(0.5, 4.0, 2.0),
        SolverSettings(width=32, collocation=1024, adam_steps_first=1000, adam_steps=500, pde_lbfgs_steps=500,
                       max_iterations=4, value_tol=1e-4),
    ),
}
TIMES = (0.0, 1.0, 1.5, 1.9)


def exact_log_density_and_score(data: GaussianMixture, noising: VPNoising, x: np.ndarray, t: float):
    """log p_{T−t}(x) (n,) and ∇ log p_{T−t}(x) (n, d) from the mixture's exact marginal."""
    law = data.noised(float(noising.alpha(noising.horizon - t)))
    xg = torch.tensor(x, requires_grad=True)
    log_p = law.log_density(xg)
    return log_p[:, 0].detach().numpy(), torch.autograd.grad(log_p.sum(), xg)[0].numpy()


def rel_l2(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", default="mixture1d", choices=sorted(CASES))
    parser.add_argument("--train-samples", type=int, default=10000)
    parser.add_argument("--dsm-steps", type=int, default=40000)
    parser.add_argument("--out")
    args = parser.parse_args()
    torch.set_num_threads(1)
    data, noising, settings = CASES[args.case]
    model = DiffusionModel(data, noising)
    rng = np.random.default_rng(0)
    T = noising.horizon
    start = time.perf_counter()
    pinn = solve_finite_horizon(model, settings, progress=False)
    pinn_seconds = time.perf_counter() - start
    start = time.perf_counter()
    dsm = train_score_matching(data.sample(args.train_samples, rng), noising, steps=args.dsm_steps, seed=0)
    dsm_seconds = time.perf_counter() - start
    x = model.domain.box.grid(201 if data.dim == 1 else 41)
    rows = {"pinn_hjb": {"seconds": pinn_seconds}, "dsm": {"seconds": dsm_seconds}}
    for t in TIMES:
        log_p, score = exact_log_density_and_score(data, noising, x, t)
        where = np.exp(log_p) > 1e-3
        xt = model.domain.at_time(x, t)
        rows["pinn_hjb"][f"log_density_rel_l2_t{t}"] = rel_l2(pinn.value(xt)[where], log_p[where])
        if t < T:  # DSM's score and probability flow are defined for s = T − t > 0
            rows["dsm"][f"log_density_rel_l2_t{t}"] = rel_l2(dsm.log_density(x[where], T - t), log_p[where])
        if np.isclose(t, T - 0.1):
            rows["pinn_hjb"]["score_rel_l2"] = rel_l2(pinn.gradient(xt)[where], score[where])
            rows["dsm"]["score_rel_l2"] = rel_l2(dsm.score(x[where], T - t), score[where])
    fresh, other = data.sample(10000, rng), data.sample(10000, rng)
    reference = energy_distance(fresh, other)
    rows["pinn_hjb"]["energy_distance"] = energy_distance(sample(model, learned_control(pinn), 10000, rng), fresh)
    rows["dsm"]["energy_distance"] = energy_distance(dsm.sample(10000, rng), fresh)
    for name in rows:
        rows[name]["energy_ratio"] = rows[name]["energy_distance"] / reference
    keys = sorted({k for r in rows.values() for k in r})
    print(f"{'metric':32s} {'PINN-HJB':>12s} {'DSM':>12s}")
    for k in keys:
        cells = [f"{rows[m][k]:12.3e}" if k in rows[m] else f"{'—':>12s}" for m in ("pinn_hjb", "dsm")]
        print(f"{k:32s} {cells[0]} {cells[1]}")
    print(f"energy distance between two data sets of 10⁴: {reference:.3e}")
    out = Path(args.out or f"benchmarks/results/diffusion_vs_dsm_{args.case}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, json.dumps({"case": args.case, "data_reference_energy": reference, "methods": rows,
                                       "train_samples": args.train_samples}, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
