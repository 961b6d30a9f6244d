"""Progress display for long solves, on tqdm: a bar with ETA over PI iterations (training chunks in its postfix,
notes as lines above it) and over suite cases and sweep cells. Shown on a terminal only, unless HJB_PROGRESS=1
(e.g. for a log file); silent when disabled."""
from __future__ import annotations

import contextlib
import math
import os
import sys
from collections.abc import Iterator

from tqdm import tqdm

FORCE = "HJB_PROGRESS"


def _disable(enabled: bool) -> bool | None:
    """tqdm's `disable`: True when not enabled; None (off unless the stream is a terminal) when enabled, unless
    HJB_PROGRESS=1 forces it on."""
    if not enabled:
        return True
    return False if os.environ.get(FORCE, "") == "1" else None


@contextlib.contextmanager
def bar(total: int, desc: str, enabled: bool = True, unit: str = "it", stream=None) -> Iterator[tqdm]:
    """A tqdm bar over `total` items (closed on exit)."""
    shown = tqdm(total=total, desc=desc, unit=unit, file=stream if stream is not None else sys.stderr,
                 disable=_disable(enabled), dynamic_ncols=True)
    try:
        yield shown
    finally:
        shown.close()


class Progress:
    """A bar over the PI iterations of one solve: `PI k/K` with ETA, the last chunk's losses as its postfix, notes
    (anchors, restarts, iteration summaries) as `[label] PI k/K | … | elapsed` lines above it."""

    def __init__(self, total_iterations: int, enabled: bool = True, stream=None, label: str = "", unit: str = "PI"):
        self.total, self.label = total_iterations, f"[{label}] " if label else ""
        self.stream = stream if stream is not None else sys.stderr
        self.bar = tqdm(total=total_iterations, desc=label or unit, unit=unit, file=self.stream,
                        disable=_disable(enabled), dynamic_ncols=True)

    @property
    def enabled(self) -> bool:
        return not self.bar.disable

    def _print(self, text: str) -> None:
        if self.enabled:
            elapsed = self.bar.format_dict["elapsed"]
            self.bar.write(f"{self.label}{text} | {elapsed:6.1f}s", file=self.stream)

    def training(self, iteration: int, steps: int, pde_loss: float, anchor_loss: float) -> None:
        """A chunk of critic training finished."""
        self.bar.set_postfix_str(f"PI {iteration + 1} step {steps} pde {pde_loss:.2e} anchors {anchor_loss:.2e}")

    def anchors(self, iteration: int, horizon: float, dt: float, paths: int, stderr: float, chi2: float, limit: float,
                anchored: bool, capped: bool = False, target: float = math.nan) -> None:
        """The Feynman–Kac anchors of an iteration: horizon, step, the most paths of any anchor (capped: short of the
        se target), the largest relative standard error and its target (hjb.solvers.anchors), χ² against V."""
        verdict = f"χ² {chi2:.3g} > {limit:g}: anchored phase" if anchored else f"χ² {chi2:.3g} ≤ {limit:g}"
        budget = " at the anchor_max_paths cap, short of the se target" if capped else ""
        self._print(f"PI {iteration + 1}/{self.total} | anchors: T {horizon:.3g}, dt {dt:.3g}, ≤ {paths} paths{budget} "
                    f"(worst relative se {stderr:.2e}, target {target:.2e}), {verdict}")

    def iteration(self, record: dict) -> None:
        """A PI iteration finished (record from the solver history): a line, and the bar moves on."""
        anchors = f"anchors {record['anchor_loss']:.2e} " if "anchor_loss" in record else ""
        self._print(
            f"PI {record['iteration'] + 1}/{self.total} | done | pde {record['pde_loss']:.2e} "
            f"{anchors}| HJB residual rms {record['hjb_residual_rms']:.2e} | ΔV {record['value_change']:.2e}"
        )
        self.bar.update(1)

    def message(self, text: str) -> None:
        """A free-form status line (a finite-horizon solver's training chunks among them)."""
        self._print(text)

    def advance(self, text: str) -> None:
        """A unit of work finished (a learner's checkpoint): a line, and the bar moves on."""
        self._print(text)
        self.bar.update(1)

    def close(self) -> None:
        """Close the bar (the solve ended)."""
        self.bar.close()
