"""PINN on the log-density HJB against denoising score matching (DSM) and the PINN from samples, side by side, on a
Gaussian mixture.

python benchmarks/diffusion_vs_dsm.py [--case mixture1d|mixture2d] [--seeds 0 1 2] [--dsm-steps N] [--out FILE]

Runs the validation suite's diffusion case (hjb.validation.diffusion_case.DiffusionCase: the same data law for
every method; the PINN is given its exact log-density and moments, DSM 10⁴ samples of it, and the samples-PINN
the same 10⁴ samples through a kernel-density terminal condition and sample moments) once per seed, on one
thread, and prints per method: log-density rel L2 where p_{T−t} > 1e-3 at each t, score rel L2 at t = T − 0.1,
the energy distance of 10⁴ samples to fresh data ÷ that between two data sets, the identity's z (PINN only),
and wall seconds of training and of sampling.
Writes benchmarks/results/diffusion_vs_dsm_<case>.json.
"""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import torch

from hjb.io.atomic import atomic_write_text
from hjb.io.jsonio import dumps
from hjb.validation.suites import get_suite

CASES = {case.name: case for case in get_suite("full") if case.kind == "diffusion"}
PREFIXES = ("", "dsm_", "samples_pinn_")  # PINN-HJB, DSM, samples-PINN
ROWS = (("log p rel L2, t = {t}", "log_density_rel_l2_by_time"),
        ("score rel L2, t = T − 0.1", "score_rel_l2"),
        ("energy distance ÷ data-vs-data", "energy_ratio"),
        ("identity z (δ = a·sin x)", "identity_z"),
        ("seconds (training)", "seconds"),
        ("seconds (sampling)", "sample_seconds"))


def _lines(result: dict) -> list[tuple[str, list[float | None]]]:
    """(metric, [PINN, DSM, samples-PINN]) rows of one run; None where a method has no such number."""
    out = []
    for label, key in ROWS:
        if key.endswith("_by_time"):
            out += [(label.format(t=t), [(result.get(p + key) or {}).get(t) for p in PREFIXES]) for t in result[key]]
        else:
            out.append((label, [result.get(p + key) for p in PREFIXES]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", default="mixture1d", choices=sorted(CASES))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--dsm-steps", type=int, help="replace the case's DSM Adam steps")
    parser.add_argument("--out")
    args = parser.parse_args()
    torch.set_num_threads(1)
    case = CASES[args.case]
    if args.dsm_steps is not None:
        case = dataclasses.replace(case, dsm_steps=args.dsm_steps)
    runs = []
    for seed in args.seeds:
        result = case.run(seed=seed, progress=False)
        result.pop("arrays")
        runs.append(result)
        print(f"\n{args.case}, seed {seed}: PINN {result['iterations']} PI iterations, DSM {case.dsm_steps} steps "
              f"on {case.train_samples} samples, samples-PINN {result.get('samples_pinn_iterations', '—')} PI "
              f"iterations on the same samples")
        print(f"{'metric':34s} {'PINN-HJB':>10s} {'DSM':>10s} {'samples-PINN':>12s}")
        for label, values in _lines(result):
            cells = [f"{v:10.3e}" if v is not None else f"{'—':>10s}" for v in values]
            print(f"{label:34s} {cells[0]} {cells[1]} {cells[2]:>12s}")
    out = Path(args.out or f"benchmarks/results/diffusion_vs_dsm_{args.case}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, dumps({"case": args.case, "runs": runs}))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
