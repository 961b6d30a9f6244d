"""Check a Merton sweep (`hjb sweep examples/merton_sweep.py …`) against Merton's closed form, and optionally that
two sweeps (e.g. one on a LocalCluster, one through --scheduler) are identical in every variable but `seconds`.

python benchmarks/check_merton_sweep.py SWEEP.nc [OTHER.nc] [--json]

Per cell: status, PI iterations, value and policy rel L2 on the export grid's points inside the quick suite's range
[0.5, 5], against the quick suite's tolerances (1e-2 each), and seconds. The market (r_f, μ, σ) and action bounds
are those of examples/merton_sweep.py. Exit 0 when every cell passes (and the two files agree), 1 otherwise.
"""
from __future__ import annotations

import argparse
import json
import sys

import xarray as xr

from hjb.validation.merton import merton_closed_form
from hjb.validation.metrics import columnwise_rel_l2, rel_l2

RANGE, TOLERANCE = (0.5, 5.0), 1e-2
MARKET, BOUNDS = (0.03, 0.08, 0.2), ((-5.0, 5.0), (1e-4, 2.0))


def identical(a: xr.Dataset, b: xr.Dataset) -> bool:
    """Every variable but `seconds` equal (NaN equal to NaN), with the same coordinates."""
    return a.drop_vars("seconds").identical(b.drop_vars("seconds"))


def cells(sweep: xr.Dataset) -> list[dict]:
    """One row per (gamma, discount): status, iterations, value and policy rel L2 on [0.5, 5], passed, seconds."""
    x = sweep["x0"].values
    inside = (x >= RANGE[0]) & (x <= RANGE[1])
    points = x[inside][:, None]
    rows = []
    for gamma in sweep["gamma"].values:
        for discount in sweep["discount"].values:
            cell = sweep.sel(gamma=gamma, discount=discount)
            exact = merton_closed_form(*MARKET, float(gamma), float(discount), *BOUNDS)
            value = rel_l2(cell["value"].values[inside], exact.value(points))
            policy = columnwise_rel_l2(cell["policy"].values[inside], exact.policy(points))
            rows.append({"gamma": float(gamma), "discount": float(discount), "status": str(cell["status"].item()),
                         "iterations": int(cell["iterations"].item()), "value_rel_l2": value,
                         "policy_rel_l2": policy, "passed": bool(value <= TOLERANCE and policy <= TOLERANCE),
                         "seconds": float(cell["seconds"])})
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweep")
    parser.add_argument("other", nargs="?")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON instead of a table")
    args = parser.parse_args()
    sweep = xr.load_dataset(args.sweep, engine="scipy")
    same = True
    if args.other:
        same = identical(sweep, xr.load_dataset(args.other, engine="scipy"))
        print(f"identical in every variable but seconds: {same}")
    rows = cells(sweep)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print("| γ | ρ | status | PI | value rel L2 | policy rel L2 | pass | seconds |")
        print("|---|---|---|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['gamma']:g} | {r['discount']:g} | {r['status']} | {r['iterations']} | {r['value_rel_l2']:.2e} | "
                  f"{r['policy_rel_l2']:.2e} | {'PASS' if r['passed'] else 'FAIL'} | {r['seconds']:.0f} |")
    return 0 if same and all(r["passed"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
