"""Progress display for long solves: one line per chunk of training and per PI iteration, on stderr."""
from __future__ import annotations

import math
import sys
import time


class Progress:
    """Prints `PI k/K | stage | losses | residual | elapsed` lines; silent when enabled=False."""

    def __init__(self, total_iterations: int, enabled: bool = True, stream=None, label: str = ""):
        self.total, self.enabled = total_iterations, enabled
        self.stream = stream if stream is not None else sys.stderr
        self.label = f"[{label}] " if label else ""
        self.start = time.perf_counter()

    def _print(self, text: str) -> None:
        if self.enabled:
            elapsed = time.perf_counter() - self.start
            print(f"{self.label}{text} | {elapsed:6.1f}s", file=self.stream, flush=True)

    def training(self, iteration: int, steps: int, pde_loss: float, anchor_loss: float) -> None:
        """A chunk of critic training finished."""
        self._print(
            f"PI {iteration + 1}/{self.total} | evaluation step {steps:5d} | "
            f"pde {pde_loss:.2e} anchors {anchor_loss:.2e}"
        )

    def anchors(self, iteration: int, horizon: float, dt: float, paths: int, stderr: float, chi2: float, limit: float,
                anchored: bool, capped: bool = False, target: float = math.nan) -> None:
        """The Feynman–Kac anchors of an iteration: horizon, step, the most paths of any anchor (capped: short of the
        se target), the largest relative standard error and its target (hjb.anchors), χ² against V."""
        verdict = f"χ² {chi2:.3g} > {limit:g}: anchored phase" if anchored else f"χ² {chi2:.3g} ≤ {limit:g}"
        budget = " at the anchor_max_paths cap, short of the se target" if capped else ""
        self._print(f"PI {iteration + 1}/{self.total} | anchors: T {horizon:.3g}, dt {dt:.3g}, ≤ {paths} paths{budget} "
                    f"(worst relative se {stderr:.2e}, target {target:.2e}), {verdict}")

    def iteration(self, record: dict) -> None:
        """A PI iteration finished (record from the solver history)."""
        anchors = f"anchors {record['anchor_loss']:.2e} " if "anchor_loss" in record else ""
        self._print(
            f"PI {record['iteration'] + 1}/{self.total} | done | pde {record['pde_loss']:.2e} "
            f"{anchors}| HJB residual rms {record['hjb_residual_rms']:.2e} | ΔV {record['value_change']:.2e}"
        )

    def message(self, text: str) -> None:
        """A free-form status line."""
        self._print(text)
