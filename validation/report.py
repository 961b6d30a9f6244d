"""Validation reports: report.json, a markdown table in report.md, and per-case PNGs; a terminal table."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from hjb.io.atomic import atomic_write_text
from hjb.io.jsonio import dumps
from hjb.io.plots import (
    PlotGrid,
    comparison_figure,
    convergence_figure,
    curves_over_time_figure,
    plot_grid,
    samples_figure,
    save_figure,
)

# Per kind of case: the title of its table and its metric columns (header, result key), in order.
TABLES: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "hjb": ("HJB (infinite horizon) against closed forms", (
        ("value rel L2", "value_rel_l2"), ("policy rel L2", "policy_rel_l2"),
        ("max |R_HJB|", "max_abs_hjb_residual"), ("rel. residual rms", "final_hjb_residual_rms"),
        ("PI its", "iterations"))),
    "fokker_planck": ("Fokker–Planck against closed forms", (
        ("density rel L2 (worst t)", "density_rel_l2"), ("|∫p − 1|", "mass_error"),
        ("−min p / max p", "negative_density_ratio"))),
    "diffusion": ("Diffusion log-density HJB (PINN) beside denoising score matching (DSM) and the PINN from samples", (
        ("log p rel L2 (worst t)", "log_density_rel_l2"), ("DSM log p", "dsm_log_density_rel_l2"),
        ("samples-PINN log p", "samples_pinn_log_density_rel_l2"),
        ("score rel L2", "score_rel_l2"), ("DSM score", "dsm_score_rel_l2"),
        ("samples-PINN score", "samples_pinn_score_rel_l2"),
        ("energy ratio", "energy_ratio"), ("DSM energy", "dsm_energy_ratio"),
        ("samples-PINN energy", "samples_pinn_energy_ratio"),
        ("|z| identity", "identity_abs_z"), ("PI its", "iterations"), ("DSM s", "dsm_seconds"),
        ("samples-PINN s", "samples_pinn_seconds"))),
    "hjb_lqg": ("HJB-LQ (DeepBSDE's benchmark) by the finite-horizon solver against Cole–Hopf", (
        ("|u(0,0) − ref|/ref (worst λ)", "u00_rel_error"), ("u(0, ·) rel L2 on N(0, I) (worst λ)", "rel_l2"),
        ("PI its", "iterations"))),
    "timed": ("Time-dependent control (finite horizon, periodic, deterministic) against closed forms", (
        ("value rel L2", "value_rel_l2"), ("policy rel L2", "policy_rel_l2"),
        ("max |V − V*| near the kink / max |V*|", "band_max_error"), ("rel. residual rms", "final_hjb_residual_rms"),
        ("PI its", "iterations"))),
    "residual": ("Residual PDEs against exact solutions", (
        ("u rel L2", "rel_l2"), ("derivative rel L2", "derivative_rel_l2"),
        ("relative residual", "residual_relative"))),
    "qlearn": ("Model-free q-learning from transitions against closed forms, beside model-based policy iteration (PI)", (
        ("K̂", "gain"), ("K*", "gain_reference"), ("|K̂ⱼ/K*ⱼ − 1|", "gain_rel_errors"),
        ("max |K̂ⱼ/K*ⱼ − 1|", "gain_rel_error"), ("J rel L2", "value_rel_l2"),
        ("variance rel error", "variance_rel_error"), ("transitions", "transitions"), ("PI K̂", "model_based_gain"),
        ("PI max |K̂ⱼ/K*ⱼ − 1|", "model_based_gain_rel_error"), ("PI s", "model_based_seconds"),
        ("PI status", "model_based_status"))),
}
TAIL = ("seconds", "status", "result")


def _number(value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(f"{v:.5g}" if isinstance(v, float) else _number(v) for v in value) + "]"
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a" if value is None else str(value)
    if isinstance(value, int):
        return str(value)
    return f"{value:.2e}"


def _metric(case: dict, key: str) -> str:
    tol = case["tolerances"].get(key)
    if key.endswith("seconds") and case.get(key) is not None:
        return f"{case[key]:.1f}"
    return _number(case.get(key)) + ("" if tol is None else f" (≤ {tol:.0e})")


def _groups(report: dict) -> list[tuple[str, str, tuple[str, ...], list[tuple[str, ...]]]]:
    """(kind, title, header, rows) for each kind of case present in the report, in TABLES order."""
    groups = []
    for kind, (title, columns) in TABLES.items():
        cases = [case for case in report["cases"] if case.get("kind", "hjb") == kind]
        if not cases:
            continue
        header = ("case",) + tuple(h for h, _ in columns) + TAIL
        rows = [(case["name"],) + tuple(_metric(case, key) for _, key in columns)
                + (f"{case['seconds']:.1f}", case["status"], "PASS" if case["passed"] else "FAIL") for case in cases]
        groups.append((kind, title, header, rows))
    return groups


def _diffusion_legend(cases: list[dict]) -> list[str]:
    """What each method of the diffusion table was given, per case: samples, DSM steps, the KDE's bandwidth and
    terminal error, and the seconds each took to draw its samples."""
    lines = [
        "What each method is given. **PINN**: the exact log p_data (its terminal condition) and the data's exact mean "
        "and covariance (its Gaussian base). **DSM**: n data samples only, N Adam steps. **samples-PINN**: the PINN "
        "with the same solver settings and box, given only the same n samples: a Gaussian kernel-density log p_data "
        "over all n samples (SampleLaw: Scott's bandwidth h = n^(−1/(d+4))·std per axis) as its terminal condition, "
        "the samples' mean and covariance (+ diag h²) for its base. All are measured against the exact noised "
        "marginals; tolerances apply to the PINN's columns only. Seconds are training; sampling (one set) is listed "
        "below. Energy ratio: the energy distance of a set of 5000 draws to 5000 fresh data points ÷ that between two "
        "fresh data sets, averaged over 8 sets for the PINN and DSM (one set for the samples-PINN, whose sampler "
        "takes minutes per set): one set is too noisy to test (exact draws of mixture2d gave 0.12–2.6; averaged "
        "over 8 sets 0.5–1.5, of mixture1d 0.47–1.78, twelve repeats each). DSM and the samples-PINN run in the "
        "full suite (n/a in quick).",
        "",
    ]
    for case in cases:
        steps = (case.get("dsm_settings") or {}).get("steps")
        line = f"- `{case['name']}`: n = {case.get('train_samples', 'n/a')}, N = {'n/a' if steps is None else steps}"
        if case.get("samples_pinn_bandwidth") is not None:
            h = ", ".join(f"{v:.3g}" for v in case["samples_pinn_bandwidth"])
            terminal = _number(case.get("samples_pinn_terminal_rel_l2"))
            line += f"; samples-PINN h = {h}, its KDE log p_data rel L2 {terminal}"
        sampling = [(label, case.get(key)) for label, key in (("PINN", "sample_seconds"), ("DSM", "dsm_sample_seconds"),
                                                              ("samples-PINN", "samples_pinn_sample_seconds"))]
        if any(v is not None for _, v in sampling):
            line += "; sampling s: " + ", ".join(f"{label} {v:.1f}" for label, v in sampling if v is not None)
        lines.append(line)
    return lines


def _hjb_legend(cases: list[dict]) -> list[str]:
    """What the HJB table's status and residual columns mean."""
    return [
        "Every HJB case runs at `SolverSettings()` as shipped. rel. residual rms: the last PI iteration's HJB residual "
        "rms on the probe set ÷ (ρ · standard deviation of V there). status: `converged` only when the iterates "
        "settled, that residual is at most residual_tol (5e-3), V agrees with its last Feynman–Kac anchors (χ² ≤ 4) and "
        "those anchors reached their standard-error target within anchor_max_paths; otherwise `not_converged`, as "
        "measured.",
        "",
    ]


def _qlearn_legend(cases: list[dict]) -> list[str]:
    """What the q-learning table's columns mean."""
    return [
        "Every q-learning case learns at `QLearningSettings()` as shipped (temperature γ where the problem is "
        "entropy-regularised) from transitions collected under uniform exploration on the action bounds; PI is hjb's "
        "model-based policy iteration at `SolverSettings()` on the same problem, reported beside it and not gated. "
        "K̂: the least-squares fit a ≈ c − K̂x of the policy mean over the case's gain region (where −K*x stays "
        "inside the bounds); K*: the Riccati gain. J rel L2: the learned J against the closed-form V (or V_γ), its "
        "level included. variance rel error: the policy's variance against γR⁻¹. seconds: collecting and learning; "
        "status: the learner's.",
        "",
    ]


LEGENDS = {"hjb": _hjb_legend, "diffusion": _diffusion_legend, "qlearn": _qlearn_legend}


def _verdict(report: dict) -> str:
    failed = [case["name"] for case in report["cases"] if not case["passed"]]
    return "all cases passed" if not failed else f"FAILED: {', '.join(failed)}"


def format_table(report: dict) -> str:
    """Fixed-width tables of the report's cases (one per kind) and a verdict line, for the terminal."""
    lines = []
    for _, title, header, rows in _groups(report):
        table = [header] + rows
        widths = [max(len(row[i]) for row in table) for i in range(len(header))]
        body = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in table]
        lines += [title, body[0], "  ".join("-" * w for w in widths)] + body[1:] + [""]
    verdict = f"suite {_suite(report)}: " + _verdict(report)
    if "wall_seconds" in report:
        verdict += f" ({report['wall_seconds']:.0f} s wall, {report.get('jobs', 1)} at a time)"
    return "\n".join(lines + [verdict])


def _suite(report: dict, quote: str = "") -> str:
    """The suite's name, and the cases run where `--case` chose some: full (only qlearn_lqr1d)."""
    only = report.get("only")
    return f"{quote}{report['suite']}{quote}" + (f" (only {', '.join(only)})" if only else "")


def _md(cell: str) -> str:
    return cell.replace("|", "\\|")


def _by_time(case: dict) -> list[str]:
    """Markdown bullets for a case's per-time metrics (keys ending in _by_time)."""
    return [f"- `{case['name']}` {key.removesuffix('_by_time').replace('_', ' ')}: "
            + ", ".join(f"t = {t}: {_number(v) if 'mass' not in key else f'{v:.4f}'}" for t, v in values.items())
            for key, values in case.items() if key.endswith("_by_time") and isinstance(values, dict)]


def format_markdown(report: dict) -> str:
    """report.md: the suite, its verdict, one markdown table per kind of case, per-time details and errors."""
    lines = [
        f"# hjb validation — suite {_suite(report, '`')}",
        "",
        f"Created {report['created']}, seed {report['seed']}. Result: **{'PASS' if report['passed'] else 'FAIL'}**"
        + (f" in {report['wall_seconds']:.0f} s wall ({report.get('jobs', 1)} cases at a time)." if "wall_seconds" in report else "."),
    ]
    for kind, title, header, rows in _groups(report):
        lines += ["", f"## {title}", "", "| " + " | ".join(_md(c) for c in header) + " |",
                  "|" + "|".join("---" for _ in header) + "|"]
        lines += ["| " + " | ".join(_md(cell) for cell in row) + " |" for row in rows]
        if kind in LEGENDS:
            lines += [""] + LEGENDS[kind]([case for case in report["cases"] if case.get("kind", "hjb") == kind])
    details = [line for case in report["cases"] for line in _by_time(case)]
    if details:
        lines += ["", "Per time:", ""] + details
    errors = [(case["name"], case["error"]) for case in report["cases"] if case.get("error")]
    if errors:
        lines += ["", "Errors:", ""] + [f"- `{name}`: {message}" for name, message in errors]
    return "\n".join(lines) + "\n"


def _without_arrays(report: dict) -> dict:
    return {**report, "cases": [{k: v for k, v in case.items() if k != "arrays"} for case in report["cases"]]}


def _hjb_figures(case: dict) -> dict:
    arrays, name = case["arrays"], case["name"]
    grid = arrays["plot_grid"]
    return {
        "value": comparison_figure(grid, arrays["value"], arrays["value_reference"], "V", f"{name}: value vs closed form"),
        "policy": comparison_figure(grid, arrays["policy"], arrays["policy_reference"], "a", f"{name}: policy vs closed form",
                                    case.get("problem", {}).get("action_names")),
        "convergence": convergence_figure(arrays["history"], f"{name}: HJB residual per PI iteration"),
    }


def _density_figures(case: dict) -> dict:
    arrays, name = case["arrays"], case["name"]
    if "plot_grid" in arrays:  # a stationary law
        return {"density": comparison_figure(arrays["plot_grid"], arrays["density"], arrays["density_reference"], "p",
                                             f"{name}: stationary density vs closed form")}
    return {"density": curves_over_time_figure(arrays["x"], arrays["times"], arrays["density"],
                                               arrays["density_reference"], "p(x, t)",
                                               f"{name}: density over time vs closed form")}


def _diffusion_figures(case: dict) -> dict:
    arrays, name = case["arrays"], case["name"]
    x, times = arrays["x"], arrays["times"]
    if x.shape[1] == 1:
        density = curves_over_time_figure(x, times, arrays["log_density"], arrays["log_density_reference"],
                                          "log p_{T−t}(x)", f"{name}: PINN log-density over time vs exact")
    else:
        density = comparison_figure(plot_grid(arrays["box"]), arrays["log_density"][0], arrays["log_density_reference"][0],
                                    "log p", f"{name}: PINN log p_(T−t) at t = {times[0]:g} vs exact")
    return {
        "log_density": density,
        "samples": samples_figure(arrays["samples"], f"{name}: samples vs data", x, arrays["data_density"]),
        "convergence": convergence_figure(arrays["history"], f"{name}: HJB residual per PI iteration"),
    }


def _hjb_lqg_figures(case: dict) -> dict:
    arrays, name = case["arrays"], case["name"]
    grid = PlotGrid(arrays["x"], "line", (arrays["x"][:, 0],), "x0 (other coordinates 0), t = 0")
    computed, reference = np.stack(arrays["u"], axis=1), np.stack(arrays["u_reference"], axis=1)
    lams = ", ".join(f"{lam:g}" for lam in arrays["lams"])
    return {"value": comparison_figure(grid, computed, reference, "u", f"{name}: u(0, x) at λ = {lams} vs exact"),
            "convergence": convergence_figure(arrays["history"], f"{name}: HJB residual per PI iteration (last λ)")}


def _residual_figures(case: dict) -> dict:
    arrays, name = case["arrays"], case["name"]
    grid = PlotGrid(arrays["line"].reshape(-1, 1), "line", (arrays["line"],), arrays["label"])
    return {"value": comparison_figure(grid, arrays["u"], arrays["u_reference"], "u", f"{name}: u vs exact")}


def _timed_figures(case: dict) -> dict:
    arrays, name = case["arrays"], case["name"]
    grid = PlotGrid(arrays["line"].reshape(-1, 1), "line", (arrays["line"],), arrays["label"])
    return {"value": comparison_figure(grid, arrays["value"], arrays["value_reference"], "V", f"{name}: V vs closed form"),
            "convergence": convergence_figure(arrays["history"], f"{name}: HJB residual per PI iteration")}


def _qlearn_figures(case: dict) -> dict:
    arrays, name = case["arrays"], case["name"]
    figures = {"policy": comparison_figure(arrays["policy_grid"], arrays["policy"], arrays["policy_reference"], "a",
                                           f"{name}: learned policy mean vs −K*x on the gain region",
                                           arrays["action_names"])}
    if "value_grid" in arrays:
        figures["value"] = comparison_figure(arrays["value_grid"], arrays["value"], arrays["value_reference"], "V",
                                             f"{name}: learned J vs closed form")
    return figures


FIGURES = {"hjb": _hjb_figures, "fokker_planck": _density_figures, "diffusion": _diffusion_figures,
           "hjb_lqg": _hjb_lqg_figures, "residual": _residual_figures, "timed": _timed_figures,
           "qlearn": _qlearn_figures}


def write_case_plots(case: dict, out_dir: Path) -> list[Path]:
    """The case's PNGs <case>_<figure>.png: V and policy vs closed form and convergence (HJB), density vs closed
    form (Fokker–Planck), log-density vs exact, samples vs data and convergence (diffusion)."""
    figures = FIGURES[case.get("kind", "hjb")](case)
    return [save_figure(fig, out_dir / f"{case['name']}_{kind}.png") for kind, fig in figures.items()]


def write_report(report: dict, out_dir: Path) -> Path:
    """Write report.json, report.md and every case's PNGs into out_dir (each file atomically)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for case in report["cases"]:
        if "arrays" in case:
            write_case_plots(case, out_dir)
    atomic_write_text(out_dir / "report.json", dumps(_without_arrays(report)))
    atomic_write_text(out_dir / "report.md", format_markdown(report))
    return out_dir
