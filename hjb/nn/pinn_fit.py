"""The one place hjb builds and trains DeepXDE models: a PDE residual at given collocation points (plus conditions)
on a value network, fitted by Adam in chunks, then L-BFGS, keeping finite weights."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from hjb.backend import dde, quiet
from hjb.errors import TrainingDivergedError
from hjb.nn.value_network import ValueNetwork
from hjb.pdes import conditions as cond
from hjb.pdes.generator import paired_mean_square
from hjb.pdes.residual_pde import ResidualPDE

LBFGS_CHUNK = 50  # L-BFGS iterations between two looks at the loss (torch keeps its history across them)
PLATEAU = 0.02, 8  # L-BFGS has stalled when PLATEAU[1] chunks lowered the total loss by less than PLATEAU[0]


class _LBFGSGuard:
    """Stops DeepXDE's L-BFGS loop when an optimiser step makes no iteration (DeepXDE 1.15 would spin
    forever once torch's L-BFGS returns at once, e.g. on a gradient already below tolerance), when the
    loss is no longer finite, or, given a target, once the total loss is at most the target or has stalled
    (PLATEAU). L-BFGS on these PINN losses stalls, mostly for good: on lqr1d a loss stalled at 2.8e-5 stayed
    there for the remaining 1000 iterations; on lqr1d_bounded one resumed after 300 flat iterations, and a
    window of 200 iterations left it at a ten times larger final loss (hence 400)."""

    def __new__(cls, target: float | None = None):
        class Guard(dde.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.previous, self.totals = -1, []

            def on_epoch_end(self):
                state = self.model.opt.state_dict()["state"]
                n_iter = state[0]["n_iter"] if state else 0
                loss = np.asarray(self.model.train_state.loss_train, dtype=float)
                self.totals.append(float(np.sum(loss)))
                fraction, chunks = PLATEAU
                stalled = len(self.totals) > chunks and self.totals[-1] > (1.0 - fraction) * self.totals[-1 - chunks]
                reached = target is not None and (self.totals[-1] <= target or stalled)
                if n_iter == self.previous or not np.all(np.isfinite(loss)) or reached:
                    self.model.stop_training = True
                self.previous = n_iter

        return Guard()


def set_lbfgs_budget(iterations: int, chunk: int = 1000) -> None:
    """About `iterations` L-BFGS iterations (fewer than twice that) per DeepXDE L-BFGS training: DeepXDE repeats
    torch's L-BFGS step, each at most iter_per_step = min(chunk, iterations) iterations, until `iterations` are
    reached. set_LBFGS_options(maxiter=…) alone leaves iter_per_step at the 1000 fixed when DeepXDE was
    imported, so a budget of 300 could run 1000 iterations."""
    options = dde.optimizers.config.LBFGS_options
    dde.optimizers.config.set_LBFGS_options(maxiter=iterations)
    options["iter_per_step"] = min(chunk, iterations)
    options["fun_per_step"] = options["maxfun"] * options["iter_per_step"] // iterations


def pde_model(pde: ResidualPDE, net, points: np.ndarray):
    """dde.Model of net.net on dde.data.PDE for a residual PDE: its residual R(x, u) at the collocation points (n, D)
    (DeepXDE samples no domain or boundary points of its own; those of a boundary condition are among them) and its
    conditions as DeepXDE condition terms, in their order (hjb.pdes.conditions.to_deepxde)."""
    geometry = pde.domain.to_deepxde()
    terms = [t for c in pde.conditions for t in cond.to_deepxde(c, pde.domain, geometry, pde.periodic)]

    def residual(x, u):  # DeepXDE reads a third argument as auxiliary variables
        return pde.residual_at(x, u)

    data = dde.data.PDE(geometry, residual, terms, num_domain=0, num_boundary=0,
                        anchors=np.asarray(points, dtype=np.float64), num_test=None)
    return dde.Model(data, net.net)


def train_pinn(pde: ResidualPDE, net, points: np.ndarray, **options) -> tuple[np.ndarray, int]:
    """fit(pde_model(pde, net, points), net, **options): the one way hjb trains a PINN, for every residual (a user's
    ResidualPDE and hjb's own HJB, Fokker–Planck and log-density ones); a paired pde (two independent residual
    estimates per point, (n, 2)) is trained on paired_mean_square."""
    if pde.paired:
        options["paired"] = True
    return fit(pde_model(pde, net, points), net, **options)


class _FreshPoints:
    """A DeepXDE callback that replaces the PDE's collocation points by draw(step) (n, d) before every Adam step."""

    def __new__(cls, draw: Callable[[int], np.ndarray]):
        class Fresh(dde.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.step = 0

            def on_batch_begin(self):
                self.model.data.replace_with_anchors(np.asarray(draw(self.step), dtype=np.float64))
                self.step += 1

        return Fresh()


def fit(
    model, net: ValueNetwork, *, adam_steps: int, lbfgs_steps: int, learning_rate: float, iteration: int,
    loss_weights: list[float] | None = None, on_chunk: Callable[[str, int, np.ndarray], None] | None = None,
    chunk: int = 500, loss_target: float | None = None, paired: bool = False,
    fresh_points: Callable[[int], np.ndarray] | None = None,
) -> tuple[np.ndarray, int]:
    """Train `model` (a dde.Model of net) for adam_steps Adam steps then at most lbfgs_steps L-BFGS iterations,
    with DeepXDE's loss_weights; on_chunk(stage, steps, losses) after each chunk. With a loss_target, L-BFGS
    stops early once the total loss is at most the target or has stalled (_LBFGSGuard). paired: the PDE term is
    mean(R₁R₂) of two independent estimates (paired_mean_square), a stochastic objective, so no L-BFGS.
    fresh_points(step) (n, d), if given, replaces the collocation points before every Adam step (no L-BFGS either:
    the objective is then the residual's mean over the law they are drawn from). A stochastic fit spends the
    L-BFGS budget as Adam steps (lqr10d: V 2.7e-2 and α 4.8e-2 off after 6 iterations, against 7.1e-2 and 9.7e-2
    without). Returns the final weighted
    loss terms and the step count. NaN/inf in a loss or a weight restores the last finite weights and raises
    TrainingDivergedError naming the (1-based) PI iteration."""
    last_good, steps, losses = net.state(), 0, np.full(1, np.nan)

    def check(stage: str) -> np.ndarray:
        values = np.asarray(model.train_state.loss_train, dtype=float)
        weights_finite = all(bool(torch.isfinite(v).all()) for v in net.state().values())
        if not (np.all(np.isfinite(values)) and weights_finite):
            net.load_state(last_good)
            raise TrainingDivergedError(
                f"training produced NaN/inf in PI iteration {iteration + 1} ({stage}, step {steps}); "
                "kept the last finite weights", iteration=iteration + 1)
        if on_chunk is not None:
            on_chunk(stage, steps, values)
        return values

    loss = paired_mean_square if paired else "MSE"
    callbacks = [] if fresh_points is None else [_FreshPoints(fresh_points)]
    stochastic = paired or fresh_points is not None
    if stochastic:  # no L-BFGS: its budget goes to Adam
        adam_steps, lbfgs_steps = adam_steps + lbfgs_steps, 0
    with quiet():
        model.compile("adam", lr=learning_rate, loss_weights=loss_weights, loss=loss)
    while steps < adam_steps:
        n = min(chunk, adam_steps - steps)
        with quiet():
            model.train(iterations=n, display_every=n, verbose=0, callbacks=callbacks)
        steps += n
        losses = check("adam")
        last_good = net.state()
    if lbfgs_steps > 0 and not stochastic:
        set_lbfgs_budget(lbfgs_steps, LBFGS_CHUNK if loss_target is not None else 1000)
        with quiet():
            model.compile("L-BFGS", loss_weights=loss_weights)
            model.train(display_every=max(lbfgs_steps, 1), verbose=0, callbacks=[_LBFGSGuard(loss_target)])
        steps = model.train_state.step
        losses = check("lbfgs")
    return losses, steps
