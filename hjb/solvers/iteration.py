"""The one policy-iteration loop (seed §2.1): evaluate α_k (fit V to its linear PDE), improve (α_{k+1} greedy in
V_k, or by an actor), measure, repeat until the scheme says done. A scheme holds what a kind of problem needs:
discounted infinite-horizon problems (hjb.solvers.discounted) and finite-horizon ones (hjb.solvers.finite_horizon);
a stationary problem is the time-independent special case of the same loop."""
from __future__ import annotations

import time
from typing import Any, Protocol

import numpy as np
import torch

from hjb.progress import Progress


def seed_everything(seed: int) -> None:
    """One seed for torch, numpy's legacy global RNG and Python's random (DeepXDE draws from them)."""
    import random

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class Scheme(Protocol):
    """One kind of problem in the loop: its start, evaluation, improvement, measures and stopping rule."""

    def initial_policy(self) -> Any: ...

    def evaluate(self, it: int, policy, history: list[dict]) -> dict:
        """Fit V to the evaluation PDE of `policy`; the iteration's record so far."""

    def improve(self, it: int, policy) -> Any:
        """α_{k+1} from V_k."""

    def measure(self, it: int, policy, history: list[dict]) -> dict:
        """Residual and change diagnostics of (V_k, α_{k+1}), added to the record."""

    def after(self, it: int, policy, history: list[dict]) -> None:
        """Anything between iterations (e.g. resampling collocation points)."""

    def done(self, history: list[dict]) -> bool: ...

    def status(self, history: list[dict]) -> str: ...

    def solution(self, policy, history: list[dict], status: str): ...


def policy_iteration(scheme: Scheme, max_iterations: int, min_iterations: int, progress: Progress):
    """Run the scheme for at most max_iterations PI iterations (at least max(min_iterations, 2) before its stopping
    rule is asked); each record gets its seconds; the scheme's solution with its status."""
    policy = scheme.initial_policy()
    history: list[dict] = []
    for it in range(max_iterations):
        started = time.perf_counter()
        record = scheme.evaluate(it, policy, history)
        policy = scheme.improve(it, policy)
        record.update(scheme.measure(it, policy, history))
        record["seconds"] = time.perf_counter() - started
        history.append(record)
        progress.iteration(record)
        scheme.after(it, policy, history)
        if it + 1 >= max(min_iterations, 2) and scheme.done(history):
            break
    progress.close()
    return scheme.solution(policy, history, scheme.status(history))
