"""Validation reports: report.json, a markdown table in report.md, and per-case PNGs; a terminal table."""
from __future__ import annotations

import math
from pathlib import Path

from hjb.atomic import atomic_write_text
from hjb.jsonio import dumps
from hjb.plots import comparison_figure, convergence_figure, save_figure

COLUMNS = ("case", "value rel L2", "policy rel L2", "max |R_HJB|", "PI its", "seconds", "status", "result")


def _number(value) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a" if value is None else str(value)
    return f"{value:.2e}"


def _metric(case: dict, key: str) -> str:
    tol = case["tolerances"].get(key)
    return _number(case.get(key)) + ("" if tol is None else f" (≤ {tol:.0e})")


def _rows(report: dict) -> list[tuple[str, ...]]:
    return [
        (
            case["name"],
            _metric(case, "value_rel_l2"),
            _metric(case, "policy_rel_l2"),
            _metric(case, "max_abs_hjb_residual"),
            str(case["iterations"]),
            f"{case['seconds']:.1f}",
            case["status"],
            "PASS" if case["passed"] else "FAIL",
        )
        for case in report["cases"]
    ]


def format_table(report: dict) -> str:
    """A fixed-width table of the report's cases and a verdict line, for the terminal."""
    rows = [COLUMNS] + _rows(report)
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    failed = [case["name"] for case in report["cases"] if not case["passed"]]
    verdict = f"suite {report['suite']}: " + ("all cases passed" if not failed else f"FAILED: {', '.join(failed)}")
    if "wall_seconds" in report:
        verdict += f" ({report['wall_seconds']:.0f} s wall, {report.get('jobs', 1)} at a time)"
    return "\n".join(lines + ["", verdict])


def _md(cell: str) -> str:
    return cell.replace("|", "\\|")


def format_markdown(report: dict) -> str:
    """report.md: the suite, its verdict, and a markdown table of the cases."""
    lines = [
        f"# hjb validation — suite `{report['suite']}`",
        "",
        f"Created {report['created']}, seed {report['seed']}. Result: **{'PASS' if report['passed'] else 'FAIL'}**"
        + (f" in {report['wall_seconds']:.0f} s wall ({report.get('jobs', 1)} cases at a time)." if "wall_seconds" in report else "."),
        "",
        "| " + " | ".join(_md(c) for c in COLUMNS) + " |",
        "|" + "|".join("---" for _ in COLUMNS) + "|",
    ]
    lines += ["| " + " | ".join(_md(cell) for cell in row) + " |" for row in _rows(report)]
    errors = [(case["name"], case["error"]) for case in report["cases"] if case.get("error")]
    if errors:
        lines += ["", "Errors:", ""] + [f"- `{name}`: {message}" for name, message in errors]
    return "\n".join(lines) + "\n"


def _without_arrays(report: dict) -> dict:
    return {**report, "cases": [{k: v for k, v in case.items() if k != "arrays"} for case in report["cases"]]}


def write_case_plots(case: dict, out_dir: Path) -> list[Path]:
    """<case>_value.png, <case>_policy.png (solver vs closed form) and <case>_convergence.png."""
    arrays = case["arrays"]
    grid = arrays["plot_grid"]
    name = case["name"]
    figures = {
        "value": comparison_figure(grid, arrays["value"], arrays["value_reference"], "V", f"{name}: value vs closed form"),
        "policy": comparison_figure(grid, arrays["policy"], arrays["policy_reference"], "a", f"{name}: policy vs closed form"),
        "convergence": convergence_figure(arrays["history"], f"{name}: HJB residual per PI iteration"),
    }
    return [save_figure(fig, out_dir / f"{name}_{kind}.png") for kind, fig in figures.items()]


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
