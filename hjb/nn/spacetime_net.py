"""A DeepXDE FNN on (x, t) with a hard-wired initial or terminal condition: u = h(x) + τ·N(z(x, t)), or
u = b(x, t) + τ·N(z(x, t)) over a known base b with b = h at the fixed time."""
from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np
import torch

from hjb.backend import dde
from hjb.errors import ProblemError
from hjb.geometry.spacetime import SpaceTime

Tensor = torch.Tensor


class SpaceTimeNet:
    """u(x, t) = h(x) + τ(t)·c·N_θ(z), z the cylinder mapped onto [−1, 1]^{d+1}; τ = t − t0 (at="start",
    an initial condition u(·, t0) = h) or τ = t1 − t (at="end", a terminal condition u(·, t1) = h).
    The constant c (`rate`) is the expected size of |∂_t u|, so that N_θ starts O(1). With a `base` b(x, t) (n, 1),
    u = b(x, t) + τ(t)·c·N_θ(z) instead; b must equal h at the fixed time (the caller's contract)."""

    def __init__(self, domain: SpaceTime, width: int, depth: int, fixed: Callable[[Tensor], Tensor], at: str,
                 rate: float = 1.0, base: Callable[[Tensor, Tensor], Tensor] | None = None):
        if at not in ("start", "end"):
            raise ProblemError(f"at must be 'start' or 'end'; got {at!r}")
        if not rate > 0:
            raise ProblemError(f"rate must be > 0; got {rate!r}")
        if domain.box.scale != "linear":
            raise ProblemError("space-time networks need a linear-scale Box")
        self.domain, self.fixed, self.at, self.rate, self.base = domain, fixed, at, float(rate), base
        d = domain.dim
        self.net = dde.nn.FNN([d + 1] + [width] * depth + [1], "tanh", "Glorot normal")
        lo = torch.as_tensor(np.append(domain.box.lo, domain.t0), dtype=torch.float64)
        hi = torch.as_tensor(np.append(domain.box.hi, domain.t1), dtype=torch.float64)
        t0, t1 = domain.t0, domain.t1
        self.net.apply_feature_transform(lambda xt: 2.0 * (xt - lo) / (hi - lo) - 1.0)

        def output(xt, y):
            x, t = xt[:, :d], xt[:, d:]
            tau = t - t0 if at == "start" else t1 - t
            return (fixed(x) if base is None else base(x, t)) + (rate * tau) * y

        self.net.apply_output_transform(output)

    def __call__(self, xt: Tensor) -> Tensor:
        """u (n, 1) at xt (n, d + 1), with graph."""
        return self.net(xt)

    def values(self, xt: np.ndarray) -> np.ndarray:
        """u (n,) at xt (n, d + 1), detached numpy."""
        with torch.no_grad():
            return self.net(torch.as_tensor(xt, dtype=torch.float64))[:, 0].numpy()

    def single_precision(self) -> SpaceTimeNet:
        """A copy with N_θ in float32, for sampling: h, b and the input map stay float64 and u comes back in float64.
        N_θ's input gradient costs about half (see Critic.single_precision) at a relative error of about 1e-7."""
        twin = copy.copy(self)
        twin.net = copy.deepcopy(self.net).float()
        features, output = self.net._input_transform, self.net._output_transform
        twin.net.apply_feature_transform(lambda xt: features(xt).float())
        twin.net.apply_output_transform(lambda xt, y: output(xt, y.double()))
        return twin

    def state(self) -> dict:
        """A copy of the weights."""
        return {k: v.detach().clone() for k, v in self.net.state_dict().items()}

    def load_state(self, state: dict) -> None:
        """Restore weights saved by state()."""
        self.net.load_state_dict(state)
