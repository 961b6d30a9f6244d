"""The `hjb` command: list, solve, validate, sweep, export, sample, simulate, learn. Parsing and printing only; the work is in hjb's modules."""
from __future__ import annotations

import sys

from hjb.cli.parser import BUILTIN_PROBLEMS, PDE_FILE_KINDS, build_parser
from hjb.errors import HJBError, TrainingDivergedError


def _list(args) -> int:
    from hjb.validation.suites import SUITES

    print("Built-in problems:")
    for name, call, text in BUILTIN_PROBLEMS:
        print(f"  {name:<14} {call:<48} {text}")
    print("PDE file kinds:")
    for name, call, text in PDE_FILE_KINDS:
        print(f"  {name + ' = ' + call:<62} {text}")
    print("Validation suites:")
    for name, cases in SUITES.items():
        print(f"  {name:<14} {', '.join(case.name for case in cases)}")
    return 0


def _solve(args) -> int:
    from hjb.cli.pipeline import solve_file
    from hjb.io.rundir import FINITE, RESIDUAL, run_kind

    try:
        solution, run_dir = solve_file(args.file, out_dir=args.out, seed=args.seed, progress=not args.quiet)
    except TrainingDivergedError as err:
        if getattr(err, "run_dir", None) is not None:
            print(f"last finite solution saved to {err.run_dir} (status diverged)")
        raise
    if run_kind(solution) == RESIDUAL:
        record = solution.history[-1]
        print(f"fitted {solution.problem.name}: residual rms {record['residual_rms']:.3e}, worst of it and the "
              f"conditions' misfits relative to their scale {record['relative']:.3e} (converged needs ≤ residual_tol "
              f"{solution.settings.residual_tol:g}), status {solution.status}")
        print(f"run directory: {run_dir}")
        return 0 if solution.status == "converged" else 1
    final = solution.history[-1]["hjb_residual_rms"] if solution.history else float("nan")
    finite = run_kind(solution) == FINITE
    print(f"solved {solution.problem.name}{_kind(solution.problem) if finite else ''}: {len(solution.history)} PI "
          f"iterations, status {solution.status}")
    if finite:
        print(f"final HJB residual rms: {final:.3e}")
        if solution.problem.deterministic:
            print("deterministic (Σ ≡ 0): V approximates the viscosity solution of the first-order HJB by a smooth "
                  "network (kinks rounded off; README, Deterministic problems)")
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


def _kind(problem) -> str:
    """' (finite horizon T = …)' or ' (periodic, τ = …, ρ = …)' for the summary line."""
    from hjb.pdes.periodic import PeriodicProblem

    if isinstance(problem, PeriodicProblem):
        return f" (periodic, τ = {problem.period:g}, ρ = {problem.discount:g})"
    discount = f", ρ = {problem.discount:g}" if problem.discount else ""
    return f" (finite horizon T = {problem.horizon:g}{discount})"


def _validate(args) -> int:
    from hjb.validation.report import format_table
    from hjb.validation.runner import run_suite
    from hjb.validation.suites import get_suite

    cases = get_suite(args.suite, args.case)  # fail on an unknown name before any work
    default = args.suite if args.case is None else f"{args.suite}-" + "+".join(case.name for case in cases)
    out = args.out if args.out is not None else f"runs/validation/{default}"  # a subset leaves the suite's report
    report = run_suite(args.suite, out, seed=args.seed, progress=not args.quiet, jobs=_jobs(args, len(cases)),
                       threads=args.threads, scheduler=args.scheduler, only=args.case)
    print(format_table(report))
    print(f"report: {out}/report.md")
    return 0 if report["passed"] else 1


def _jobs(args, tasks: int) -> int:
    """--jobs, or the available cores ÷ --threads, at most `tasks`."""
    from hjb.cluster.client import available_cores

    return args.jobs if args.jobs is not None else max(1, min(tasks, available_cores() // args.threads))


def _sweep(args) -> int:
    from pathlib import Path

    from hjb.sweep.params import cells, parse_params
    from hjb.sweep.run import run_sweep

    params = parse_params(args.param)
    out = Path(args.out) if args.out is not None else Path("runs") / "sweep" / Path(args.file).stem
    dataset, summary = run_sweep(args.file, params, out, seed=args.seed, points=args.points, times=args.times,
                                 scheduler=args.scheduler, jobs=_jobs(args, len(cells(params))), threads=args.threads,
                                 progress=not args.quiet)
    print(summary)
    print(f"wrote {out / 'sweep.nc'} and {out / 'summary.md'}")
    return 0 if all(str(status) == "converged" for status in dataset["status"].values.ravel()) else 1


def _export(args) -> int:
    from hjb.io.export import export_run

    path = export_run(args.run_dir, args.points, args.format, args.out, args.times, at=args.at,
                      slice_axes=args.slice, through=args.through, time=args.time)
    print(f"wrote {path}")
    return 0


def _sample(args) -> int:
    from hjb.cli.sample_run import sample_run

    samples, path = sample_run(args.run_dir, args.n, args.out, steps=args.steps, seed=args.seed)
    mean = ", ".join(f"{m:.4g}" for m in samples.mean(axis=0))
    print(f"sampled n={len(samples)} (d={samples.shape[1]}, {args.steps} steps, seed {args.seed}): "
          f"mean [{mean}]; wrote {path}")
    return 0


def _simulate(args) -> int:
    from hjb.cli.simulate_run import simulate_run

    summary, out = simulate_run(args.run_dir, args.x0, paths=args.paths, horizon=args.horizon, dt=args.dt,
                                seed=args.seed, out=args.out)
    print(f"simulated {summary['paths']} paths of {summary['problem']} from x0 = {summary['x0']} over T = "
          f"{summary['horizon']:g} (dt {summary['dt']:.4g}, {summary['steps']} steps, seed {summary['seed']}): "
          f"mean discounted reward {summary['mean_reward']:.6g} ± {summary['stderr']:.2g} (s.e.)")
    optimal = summary["optimal"]
    if optimal is not None:
        print(f"optimal policy ({summary['optimal_policy']}), same noise: {optimal['mean_reward']:.6g} ± "
              f"{optimal['stderr']:.2g}; learned − optimal {optimal['gap_mean']:.3g} ± {optimal['gap_stderr']:.2g}")
    print(f"wrote {out}/simulation.npz, simulation.json, simulation.png")
    return 0


def _learn(args) -> int:
    from hjb.cli.learn_run import learn_file

    run, run_dir = learn_file(args.file, args.out, transitions=args.transitions, method=args.method,
                              temperature=args.temperature, seed=args.seed, data=args.data, progress=not args.quiet)
    solution, last = run.solution, run.history[-1] if run.history else {}
    s = solution.settings
    print(f"learned {run.problem.name} model-free (method {solution.method}, {solution.transitions} transitions): "
          f"policy change {last.get('policy_change', float('nan')):.3g} over the last round, held-out TD rates "
          f"{last.get('orthogonality_z', float('nan')):.3g} se from orthogonal (converged needs ≤ policy_tol "
          f"{s.policy_tol:g} and ≤ orthogonality_z {s.orthogonality_z:g}), status {solution.status}")
    if "value_se" in last:
        print(f"J's standard error (jackknife over blocks of transitions, rms on the domain): {last['value_se']:.2g}, "
              f"against rms |J| {last['value_rms']:.3g}")
    print(f"run directory: {run_dir}")
    return 0 if solution.status == "converged" else 1


COMMANDS = {"list": _list, "solve": _solve, "validate": _validate, "sweep": _sweep, "export": _export,
            "sample": _sample, "simulate": _simulate, "learn": _learn}


def main(argv: list[str] | None = None) -> int:
    """Run the hjb command line; returns the exit status (0 ok, 1 a solve did not converge or a validation case
    failed, 2 error)."""
    args = build_parser().parse_args(argv)
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
