"""The `hjb` command: list, solve, validate, export. Parsing and printing only; the work is in hjb's modules."""
from __future__ import annotations

import argparse
import sys

from hjb.errors import HJBError, TrainingDivergedError

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
    solve.add_argument("file", metavar="FILE.py", help="Python file defining `problem` (and optionally `settings`)")
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
    export = sub.add_parser("export", help="export V, the policy and the HJB residual of a run on a grid")
    export.add_argument("run_dir", metavar="RUN_DIR", help="a run directory written by `hjb solve`")
    export.add_argument("--points", type=int, help="grid points per axis (default 101 for d=1, 41 for d=2, else 11)")
    export.add_argument("--format", default="npz", help="npz, csv or netcdf (default npz)")
    export.add_argument("--out", metavar="FILE", help="output file (default RUN_DIR/grid.<ext>)")
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
    from hjb.pipeline import solve_file

    try:
        solution, run_dir = solve_file(args.file, out_dir=args.out, seed=args.seed, progress=not args.quiet)
    except TrainingDivergedError as err:
        if getattr(err, "run_dir", None) is not None:
            print(f"last finite solution saved to {err.run_dir} (status diverged)")
        raise
    final = solution.history[-1]["hjb_residual_rms"] if solution.history else float("nan")
    print(f"solved {solution.problem.name}: {solution.iterations} PI iterations, status {solution.status}")
    print(f"final HJB residual rms (relative to ρ·|V| scale): {final:.3e}")
    print(f"run directory: {run_dir}")
    return 0


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
    from hjb.export import export_run

    path = export_run(args.run_dir, args.points, args.format, args.out)
    print(f"wrote {path}")
    return 0


COMMANDS = {"list": _list, "solve": _solve, "validate": _validate, "export": _export}


def main(argv: list[str] | None = None) -> int:
    """Run the hjb command line; returns the exit status (0 ok, 1 validation failed, 2 error)."""
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
