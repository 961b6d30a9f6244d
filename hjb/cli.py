"""The `hjb` command: list, solve, validate, export, sample. Parsing and printing only; the work is in hjb's modules."""
from __future__ import annotations

import argparse
import sys

from hjb.errors import HJBError, TrainingDivergedError
from hjb.io.export import DEFAULT_TIMES
from hjb.sample_run import DEFAULT_STEPS

BUILTIN_PROBLEMS = (
    ("lqr1d", "hjb.pdes.seed_lqr()", "the seed's scalar stochastic LQR on [-2, 2] (closed form: Riccati)"),
    ("merton", "hjb.pdes.Merton()", "Merton's consumption-investment problem, wealth box [0.2, 12.5] (closed form)"),
    ("StochasticLQR", "hjb.pdes.StochasticLQR(A, B, Q, R, D, discount)", "stochastic LQR in any dimension"),
    ("Merton", "hjb.pdes.Merton(r_f, mu, sigma, gamma, discount)", "Merton's problem with your parameters"),
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hjb", description="Solve stochastic optimal control problems (HJB PDEs).")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("list", help="list built-in problems and validation suites")
    solve = sub.add_parser("solve", help="solve the problem defined in a PDE file")
    solve.add_argument("file", metavar="FILE.py", help="Python file defining `problem` (and optionally `settings`): "
                       "a ControlProblem (discounted, infinite horizon) or a FiniteHorizonProblem such as a DiffusionModel")
    solve.add_argument("--out", metavar="DIR", help="run directory (default runs/<problem name>)")
    solve.add_argument("--seed", type=int, help="replace settings.seed")
    _add_run_options(solve)
    validate = sub.add_parser("validate", help="run a validation suite against closed forms")
    validate.add_argument("--suite", default="quick", help="quick or full (default quick)")
    validate.add_argument("--out", metavar="DIR", help="report directory (default runs/validation/<suite>)")
    validate.add_argument("--seed", type=int, help="replace every case's settings.seed")
    validate.add_argument("--jobs", type=int, help="cases solved at once, each in its own process "
                          "(default: available cores ÷ --threads, at most the number of cases)")
    _add_run_options(validate)
    export = sub.add_parser(
        "export", help="export V, the policy and the HJB residual of a run on a grid",
        description="Export V, the policy and the HJB residual of a run on a grid. Infinite-horizon runs: NPZ keys "
        "x (N^d, d), value (N^d,), policy (N^d, m), hjb_residual (N^d,), meta, on Box.grid(N) (first axis slowest). "
        "Finite-horizon runs (e.g. a DiffusionModel): the grid over (t, x), N_t = --times evenly spaced times over "
        "[0, T]; NPZ keys t (N_t*N^d,), x (N_t*N^d, d), value (N_t*N^d,), policy (N_t*N^d, m), hjb_residual "
        "(N_t*N^d,), meta, in the order of SpaceTime.grid: time slowest, then the space grid with its first axis "
        "slowest (row k*N^d + j is time t_k at Box.grid(N)[j]). CSV has a first column t, netCDF a first dimension t.")
    export.add_argument("run_dir", metavar="RUN_DIR", help="a run directory written by `hjb solve`")
    export.add_argument("--points", type=int, help="grid points per axis (default 101 for d=1, 41 for d=2, else 11)")
    export.add_argument("--times", type=int, metavar="N_t", help="finite-horizon runs only: number of evenly spaced "
                        f"times over [0, T], both ends included (default {DEFAULT_TIMES})")
    export.add_argument("--format", default="npz", help="npz, csv or netcdf (default npz)")
    export.add_argument("--out", metavar="FILE", help="output file (default RUN_DIR/grid.<ext>)")
    sample = sub.add_parser("sample", help="draw samples from the learned control of a DiffusionModel run",
                            description="Draw N samples by the reverse-time SDE with the learned control "
                            "u* = Σ(t)ᵀ∇W of a DiffusionModel run; write them as .npy (the (N, d) array), "
                            ".npz (key `samples`) or .csv (columns x0, …), atomically.")
    sample.add_argument("run_dir", metavar="RUN_DIR", help="a run directory written by `hjb solve` on a DiffusionModel")
    sample.add_argument("--n", type=int, required=True, metavar="N", help="number of samples")
    sample.add_argument("--out", metavar="FILE", required=True, help="output file: .npy, .npz or .csv")
    sample.add_argument("--steps", type=int, default=DEFAULT_STEPS,
                        help=f"Euler–Maruyama steps of the reverse-time SDE (default {DEFAULT_STEPS})")
    sample.add_argument("--seed", type=int, default=0, help="numpy seed of the prior draws and the noise (default 0)")
    return parser


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    """--quiet and --threads, shared by the commands that solve."""
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1: fastest for small networks)")


def _list(args) -> int:
    from hjb.validation.suites import SUITES

    print("Built-in problems:")
    for name, call, text in BUILTIN_PROBLEMS:
        print(f"  {name:<14} {call:<48} {text}")
    print("Validation suites:")
    for name, cases in SUITES.items():
        print(f"  {name:<14} {', '.join(case.name for case in cases)}")
    return 0


def _solve(args) -> int:
    from hjb.io.rundir import FINITE, run_kind
    from hjb.pipeline import solve_file

    try:
        solution, run_dir = solve_file(args.file, out_dir=args.out, seed=args.seed, progress=not args.quiet)
    except TrainingDivergedError as err:
        if getattr(err, "run_dir", None) is not None:
            print(f"last finite solution saved to {err.run_dir} (status diverged)")
        raise
    final = solution.history[-1]["hjb_residual_rms"] if solution.history else float("nan")
    finite = run_kind(solution) == FINITE
    horizon = f" (finite horizon T = {solution.problem.horizon:g})" if finite else ""
    print(f"solved {solution.problem.name}{horizon}: {len(solution.history)} PI iterations, status {solution.status}")
    if finite:
        print(f"final HJB residual rms: {final:.3e}")
    else:
        last = solution.history[-1] if solution.history else {}
        chi2, capped = last.get("anchor_chi2_final", float("nan")), last.get("anchor_capped", False)
        paths = f"≤ {last.get('anchor_paths', 0)} paths per anchor{' (capped: short of the se target)' if capped else ''}"
        print(f"final HJB residual rms (relative to ρ·spread of V): {final:.3e}, anchors' χ² {chi2:.3g}, {paths} "
              f"(converged needs residual ≤ residual_tol {solution.settings.residual_tol:g}, χ² ≤ anchor_chi2 "
              f"{solution.settings.anchor_chi2:g}, anchors to anchor_stderr within anchor_max_paths "
              f"{solution.settings.anchor_max_paths} "
              "and settled iterates)")
    print(f"run directory: {run_dir}")
    return 0 if solution.status == "converged" else 1


def _validate(args) -> int:
    from hjb.validation.report import format_table
    from hjb.validation.runner import available_cores, run_suite
    from hjb.validation.suites import get_suite

    cases = get_suite(args.suite)  # fail on an unknown name before any work
    jobs = args.jobs if args.jobs is not None else max(1, min(len(cases), available_cores() // args.threads))
    out = args.out if args.out is not None else f"runs/validation/{args.suite}"
    report = run_suite(args.suite, out, seed=args.seed, progress=not args.quiet, jobs=jobs, threads=args.threads)
    print(format_table(report))
    print(f"report: {out}/report.md")
    return 0 if report["passed"] else 1


def _export(args) -> int:
    from hjb.io.export import export_run

    path = export_run(args.run_dir, args.points, args.format, args.out, args.times)
    print(f"wrote {path}")
    return 0


def _sample(args) -> int:
    from hjb.sample_run import sample_run

    samples, path = sample_run(args.run_dir, args.n, args.out, steps=args.steps, seed=args.seed)
    mean = ", ".join(f"{m:.4g}" for m in samples.mean(axis=0))
    print(f"sampled n={len(samples)} (d={samples.shape[1]}, {args.steps} steps, seed {args.seed}): "
          f"mean [{mean}]; wrote {path}")
    return 0


COMMANDS = {"list": _list, "solve": _solve, "validate": _validate, "export": _export, "sample": _sample}


def main(argv: list[str] | None = None) -> int:
    """Run the hjb command line; returns the exit status (0 ok, 1 a solve did not converge or a validation case
    failed, 2 error)."""
    args = _parser().parse_args(argv)
    for option in ("threads", "jobs"):
        value = getattr(args, option, None)
        if value is not None and value < 1:
            print(f"hjb: error: --{option} must be a positive integer; got {value}", file=sys.stderr)
            return 2
    if getattr(args, "threads", None) is not None:
        import torch

        torch.set_num_threads(args.threads)
    try:
        return COMMANDS[args.command](args)
    except HJBError as err:
        message = " ".join(str(err).split("\n")).strip() or type(err).__name__
        print(f"hjb: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
