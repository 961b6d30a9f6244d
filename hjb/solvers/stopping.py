"""When policy iteration stops, and what its status says (SolverSettings documents the rule)."""
from __future__ import annotations

from hjb.settings import SolverSettings


def status(history: list[dict], s: SolverSettings) -> str:
    """"converged" when the iterates settled (value or policy change below value_tol or policy_tol), the last
    relative HJB residual rms is at most residual_tol, so is the boundary condition's misfit on V's scale (where
    the problem has one: hjb.solvers.boundary), and the final V agrees with the last anchors (χ² at most
    anchor_chi2: the residual cannot see what the PDE leaves free), anchors that reached their standard-error
    target anchor_stderr within anchor_max_paths (else they pin V's free modes more loosely than asked); else
    "not_converged"."""
    last = history[-1] if history else {}
    converged = (_settled(history, s) and last["hjb_residual_rms"] <= s.residual_tol
                 and last.get("boundary_misfit", 0.0) <= s.residual_tol
                 and last.get("anchor_chi2_final", 0.0) <= s.anchor_chi2 and _precise_anchors(last, s))
    return "converged" if converged else "not_converged"


def _precise_anchors(record: dict, s: SolverSettings) -> bool:
    """Whether the record's anchors reached anchor_stderr (not capped, not sized to a looser anchor_precision)."""
    return not record.get("anchor_capped", False) and not _loose_anchors(record, s)


def _loose_anchors(record: dict, s: SolverSettings) -> bool:
    return record.get("anchor_precision", s.anchor_stderr) > s.anchor_stderr


def _settled(history: list[dict], s: SolverSettings) -> bool:
    last = history[-1] if history else None
    return last is not None and (last["value_change"] < s.value_tol or last["policy_change"] < s.policy_tol)


def done(history: list[dict], s: SolverSettings) -> bool:
    """Stop once converged, or once settled, agreeing with the anchors, with an HJB residual that improved by less
    than residual_plateau, judged by anchors at anchor_stderr (while V disagrees with its anchors, further anchored
    phases may still mend it; loose anchors, anchor_precision, are tightened in the next iteration)."""
    if status(history, s) == "converged":
        return True
    if (len(history) < 2 or not _settled(history, s) or history[-1].get("anchor_chi2_final", 0.0) > s.anchor_chi2
            or _loose_anchors(history[-1], s)):
        return False
    last, before = history[-1], history[-2]
    residual_gain = (before["hjb_residual_rms"] - last["hjb_residual_rms"]) / max(before["hjb_residual_rms"], 1e-300)
    return residual_gain < s.residual_plateau
