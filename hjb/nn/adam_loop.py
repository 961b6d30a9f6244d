"""The one plain-torch training loop, shared by the baselines (score matching, DeepBSDE): a fresh stochastic loss per
step, an optimiser and a learning-rate schedule, and an error at the first non-finite loss."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from hjb.errors import TrainingDivergedError


def minimise(loss_at: Callable[[int], torch.Tensor], optimizer, schedule, iterations: int, what: str,
             unit: str = "iteration", after: Callable[[int], None] | None = None) -> np.ndarray:
    """Minimise loss_at(k) for k = 0 … iterations − 1, one optimizer step and one schedule step each (then after(k));
    the losses (iterations,). TrainingDivergedError naming `what` and the `unit` k at the first non-finite loss."""
    losses = np.empty(iterations)
    for k in range(iterations):
        loss = loss_at(k)
        if not torch.isfinite(loss):
            raise TrainingDivergedError(f"the {what} loss became {loss.item()} at {unit} {k}", k)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        losses[k] = loss.item()
        if after is not None:
            after(k)
    return losses
