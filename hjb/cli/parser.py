"""The `hjb` command's arguments: one subparser per command, with its help."""
from __future__ import annotations

import argparse

from hjb.cli.sample_run import DEFAULT_STEPS
from hjb.cli.simulate_run import DEFAULT_PATHS, DISCOUNT_TAIL, MAX_HORIZON, MAX_STEPS, MIN_STEPS
from hjb.io.export import DEFAULT_TIMES, MAX_GRID_POINTS
from hjb.io.export_points import SLICE_POINTS

BUILTIN_PROBLEMS = (
    ("lqr1d", "hjb.pdes.seed_lqr()", "the seed's scalar stochastic LQR on [-2, 2] (closed form: Riccati)"),
    ("merton", "hjb.pdes.Merton()", "Merton's consumption-investment problem, wealth box [0.2, 12.5] (closed form)"),
    ("StochasticLQR", "hjb.pdes.StochasticLQR(A, B, Q, R, D, discount)", "stochastic LQR in any dimension"),
    ("Merton", "hjb.pdes.Merton(r_f, mu, sigma, gamma, discount)", "Merton's problem with your parameters"),
)
# What a PDE file may declare (README, "Kinds of PDE file"): the module-level name, the class, what it solves.
PDE_FILE_KINDS = (
    ("problem", "hjb.pdes.ControlProblem(...)",
     "discounted, infinite horizon: ρV = max_a {r + L^a V}; at the box none, exit (V = g) or reflect (∂_n V = 0)"),
    ("problem", "hjb.pdes.finite_horizon.FiniteHorizonProblem(...)",
     "finite horizon, discount ρ ≥ 0, Σ may be 0: ρV − ∂_t V = max_a {r + L^a V}, V(·, T) = g"),
    ("problem", "hjb.pdes.periodic.PeriodicProblem(...)",
     "discounted, coefficients τ-periodic in t: ρV − ∂_t V = max_a {r + L^a V}, V(·, 0) = V(·, τ)"),
    ("problem", "hjb.pdes.diffusion_model.DiffusionModel(...)", "a diffusion model's log-density HJB"),
    ("pde", "hjb.pdes.residual_pde.ResidualPDE(...)", "any residual R(x, u, D) = 0 with conditions"),
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hjb", description="Solve stochastic optimal control problems (HJB PDEs).")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("list", help="list built-in problems and validation suites")
    solve = sub.add_parser("solve", help="solve the problem defined in a PDE file")
    solve.add_argument("file", metavar="FILE.py", help="Python file defining `problem` (and optionally `settings`): "
                       "a ControlProblem (discounted, infinite horizon) or a FiniteHorizonProblem such as a "
                       "DiffusionModel; or `pde`, a ResidualPDE")
    solve.add_argument("--out", metavar="DIR", help="run directory (default runs/<problem name>)")
    solve.add_argument("--seed", type=int, help="replace settings.seed")
    _add_run_options(solve)
    validate = sub.add_parser("validate", help="run a validation suite against closed forms")
    validate.add_argument("--suite", default="quick", help="quick or full (default quick)")
    validate.add_argument("--out", metavar="DIR", help="report directory (default runs/validation/<suite>, or "
                          "runs/validation/<suite>-<case>+<case>… with --case)")
    validate.add_argument("--seed", type=int, help="replace every case's settings.seed")
    validate.add_argument("--case", action="append", metavar="NAME",
                          help="run only this case of the suite (repeatable; `hjb list` names them)")
    _add_cluster_options(validate, "cases")
    _add_run_options(validate)
    _add_sweep(sub)
    _add_export(sub)
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
    _add_simulate(sub)
    _add_learn(sub)
    return parser


def _add_learn(sub) -> None:
    learn = sub.add_parser(
        "learn", help="learn the value and a policy model-free, from an environment's transitions",
        description="Learn J and a policy from transitions (x, a, r, x', dt) alone (hjb.learning: continuous-time "
        "q-learning, or the critic-actor td method): transitions collected from ENV.py's `env` under uniformly "
        "exploring actions, or read from --data. Writes a run directory (hjb-run.json of kind learned, settings.json, "
        "history.json, weights.pt, environment.py, value.png, policy.png) that `hjb export` and `hjb simulate` read; "
        "exit 0 when the status is converged, 1 otherwise.")
    learn.add_argument("file", metavar="ENV.py", help="Python file defining `env` (an hjb.learning Environment, e.g. "
                       "ProblemEnvironment(problem, dt, action_low, action_high)) and optionally `settings` = "
                       "QLearningSettings(...)")
    learn.add_argument("--transitions", type=int, metavar="N", help="replace settings.transitions: how many to collect")
    learn.add_argument("--method", help="replace settings.method: q or td")
    learn.add_argument("--temperature", type=float, metavar="G", help="replace settings.temperature (entropy γ ≥ 0)")
    learn.add_argument("--seed", type=int, help="replace settings.seed")
    learn.add_argument("--data", metavar="FILE.npz", help="learn from these transitions (keys x, a, r, x_next, dt) "
                       "instead of collecting them; the environment still gives the domain, bounds and discount")
    learn.add_argument("--out", metavar="DIR", help="run directory (default runs/<environment name>)")
    _add_run_options(learn)


def _add_simulate(sub) -> None:
    simulate = sub.add_parser(
        "simulate", help="roll out the closed loop of a run's policy from a start state; mean discounted reward",
        description="Roll out N paths of the closed-loop SDE of a run's learned policy from x0 (Euler-Maruyama, the "
        "policy read at the state clipped into the box) and each path's cumulative discounted reward "
        "C(t) = int_0^t e^(-rho s) r(X_s, a_s) ds (left-point rule; a finite-horizon run adds e^(-rho T) g(X_T) at "
        "T). Where the problem has a known optimal policy (an unbounded StochasticLQR: Riccati; Merton) it is "
        "rolled out beside on the same noise. Writes DIR/simulation.npz (times (S+1,), paths (N, S+1, d), actions "
        "(N, S, m), cumulative (N, S+1); paths_optimal, actions_optimal, cumulative_optimal), simulation.json (mean "
        "final reward and its standard error std/sqrt(N), settings) and simulation.png, atomically.")
    simulate.add_argument("run_dir", metavar="RUN", help="a run directory written by `hjb solve` (a ControlProblem, "
                          "FiniteHorizonProblem or PeriodicProblem) or by `hjb learn` (stepped by its environment, "
                          "dt its own)")
    simulate.add_argument("--x0", nargs="+", required=True, metavar="X",
                          help="start state, d numbers separated by commas or spaces, inside the run's box: "
                          "--x0 1.5, --x0 -1 0.5 or --x0=-1,0.5 (argparse takes -1,0.5 for an option)")
    simulate.add_argument("--paths", type=int, default=DEFAULT_PATHS, metavar="N",
                          help=f"number of paths (default {DEFAULT_PATHS})")
    simulate.add_argument("--horizon", type=float, metavar="T", help=f"simulated time (default: discounted runs "
                          f"{DISCOUNT_TAIL:g}/rho, at most {MAX_HORIZON:g}; finite-horizon runs from t0 to their T, "
                          "which it may not exceed)")
    simulate.add_argument("--dt", type=float, help=f"time step (default min(T/{MIN_STEPS}, 0.05/Lipschitz constant of "
                          f"the closed-loop drift), at least T/{MAX_STEPS}); rounded down to T/ceil(T/dt)")
    simulate.add_argument("--seed", type=int, default=0, help="numpy seed of the noise, shared by the optimal "
                          "policy's paths (default 0)")
    simulate.add_argument("--out", metavar="DIR", help="output directory (default RUN/simulate)")


def _add_export(sub) -> None:
    export = sub.add_parser(
        "export", help="export V, the policy and the HJB residual of a run on a grid, a 2-D slice or given points",
        description="Export V, the policy and the HJB residual of a run on a grid. Infinite-horizon runs: NPZ keys "
        "x (N^d, d), value (N^d,), policy (N^d, m), hjb_residual (N^d,), meta, on Box.grid(N) (first axis slowest). "
        "Finite-horizon runs (e.g. a DiffusionModel): the grid over (t, x), N_t = --times evenly spaced times over "
        "[0, T]; NPZ keys t (N_t*N^d,), x (N_t*N^d, d), value (N_t*N^d,), policy (N_t*N^d, m), hjb_residual "
        "(N_t*N^d,), meta, in the order of SpaceTime.grid: time slowest, then the space grid with its first axis "
        "slowest (row k*N^d + j is time t_k at Box.grid(N)[j]). CSV has a first column t, netCDF a first dimension t. "
        f"A grid of more than {MAX_GRID_POINTS} points (N^d, times N_t) is refused: use --slice or --at instead. "
        "--at POINTS.npy: the same keys at the n points of an (n, d) array (finite horizon: (n, d + 1), time last), "
        "in the domain; netCDF along a dimension `point`. --slice I,J: the same keys on an N x N grid over axes I "
        "and J of the box (I slowest), the other axes fixed at --through; netCDF over dimensions xI, xJ.")
    export.add_argument("run_dir", metavar="RUN_DIR", help="a run directory written by `hjb solve`")
    export.add_argument("--points", type=int, help="grid points per axis (default 101 for d=1, 41 for d=2, else 11; "
                        f"with --slice {SLICE_POINTS})")
    export.add_argument("--times", type=int, metavar="N_t", help="runs with time only (finite-horizon, residual PDE on a SpaceTime): number of evenly spaced "
                        f"times over [t0, t1], both ends included (default {DEFAULT_TIMES})")
    export.add_argument("--at", metavar="POINTS.npy", help="export at these points instead of a grid: a .npy array "
                        "(n, d), or (n, d + 1) with the time last for a finite-horizon run, inside the domain")
    export.add_argument("--slice", metavar="I,J", help="export a 2-D slice over state axes I and J (indices from 0)")
    export.add_argument("--through", nargs="+", metavar="X", help="--slice: the state the slice passes through, d "
                        "numbers separated by commas or spaces (default the box's centre): --through -1 0.5 or "
                        "--through=-1,0.5 (argparse takes -1,0.5 for an option)")
    export.add_argument("--time", type=float, metavar="T", help="--slice of a finite-horizon run: its time (default 0)")
    export.add_argument("--format", default="npz", help="npz, csv or netcdf (default npz)")
    export.add_argument("--out", metavar="FILE", help="output file (default RUN_DIR/grid.<ext>, RUN_DIR/points.<ext> "
                        "with --at, RUN_DIR/slice.<ext> with --slice)")


def _add_sweep(sub) -> None:
    sweep = sub.add_parser(
        "sweep", help="solve a PDE file's make_problem(**params) over a grid of parameters, on Dask",
        description="Solve make_problem(**params) of FILE.py for every combination of the --param values (one solve "
        "per cell, at the file's settings or its solver's defaults), on a Dask LocalCluster or the cluster at "
        "--scheduler. Writes OUT/sweep.nc, an xarray Dataset over the swept parameters and the export grid "
        "(value, policy, hjb_residual; status, error, seconds, iterations, hjb_residual_rms per cell), and "
        "OUT/summary.md. A failed cell is reported in its cell; the others go on.")
    sweep.add_argument("file", metavar="FILE.py", help="Python file defining make_problem(**params) (and optionally "
                       "`settings`); every cell must give the same domain")
    sweep.add_argument("--param", action="append", metavar="NAME=V1,V2,…", required=True,
                       help="a swept keyword of make_problem and its values (repeat for more parameters)")
    sweep.add_argument("--out", metavar="DIR", help="output directory (default runs/sweep/<file stem>)")
    sweep.add_argument("--seed", type=int, help="replace settings.seed in every cell")
    sweep.add_argument("--points", type=int, help="grid points per axis (default 101 for d=1, 41 for d=2, else 11)")
    sweep.add_argument("--times", type=int, metavar="N_t", help="finite-horizon problems only: evenly spaced times "
                       f"over [0, T] (default {DEFAULT_TIMES})")
    _add_cluster_options(sweep, "cells")
    _add_run_options(sweep)


def _add_cluster_options(parser: argparse.ArgumentParser, what: str) -> None:
    """--jobs and --scheduler, shared by the commands that run independent solves on Dask."""
    parser.add_argument("--jobs", type=int, help=f"{what} solved at once: the workers of the embedded Dask "
                        f"LocalCluster (default: available cores ÷ --threads, at most the number of {what})")
    parser.add_argument("--scheduler", metavar="ADDRESS", help="submit the solves to the running Dask scheduler at "
                        "ADDRESS (e.g. tcp://127.0.0.1:8786) instead of a LocalCluster; --jobs is then ignored")


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    """--quiet and --threads, shared by the commands that solve."""
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1: fastest for small networks)")
