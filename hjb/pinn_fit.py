"""One PINN fit on a compiled-from-scratch DeepXDE model: Adam in chunks, then L-BFGS, keeping finite weights."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from hjb.backend import dde, quiet
from hjb.critic import Critic
from hjb.errors import TrainingDivergedError
from hjb.evaluation import _LBFGSGuard
from hjb.spacetime_net import SpaceTimeNet


def fit(
    model, net: SpaceTimeNet | Critic, *, adam_steps: int, lbfgs_steps: int, learning_rate: float, iteration: int,
    on_chunk: Callable[[str, int, float], None] | None = None, chunk: int = 500,
) -> float:
    """Train `model` (a dde.Model of net) for adam_steps Adam steps then at most lbfgs_steps L-BFGS iterations;
    on_chunk(stage, steps, loss) after each chunk. Returns the final loss. NaN/inf restores the last finite
    weights and raises TrainingDivergedError naming the (1-based) PI iteration."""
    last_good, steps, loss = net.state(), 0, float("nan")

    def check(stage: str) -> float:
        values = np.asarray(model.train_state.loss_train, dtype=float)
        if not np.all(np.isfinite(values)):
            net.load_state(last_good)
            raise TrainingDivergedError(
                f"training produced NaN/inf in PI iteration {iteration + 1} ({stage}, step {steps}); "
                "kept the last finite weights", iteration=iteration + 1)
        total = float(values.sum())
        if on_chunk is not None:
            on_chunk(stage, steps, total)
        return total

    if adam_steps > 0:
        with quiet():
            model.compile("adam", lr=learning_rate)
    while steps < adam_steps:
        n = min(chunk, adam_steps - steps)
        with quiet():
            model.train(iterations=n, display_every=n, verbose=0)
        steps += n
        loss = check("adam")
        last_good = net.state()
    if lbfgs_steps > 0:
        dde.optimizers.config.set_LBFGS_options(maxiter=lbfgs_steps)
        with quiet():
            model.compile("L-BFGS")
            model.train(display_every=max(lbfgs_steps, 1), verbose=0, callbacks=[_LBFGSGuard()])
        steps = model.train_state.step
        loss = check("lbfgs")
    return loss
