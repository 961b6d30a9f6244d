"""The value network: a DeepXDE tanh FNN N_θ on inputs mapped onto [−1, 1] (space x on a Box, through log x on
log boxes, or space-time (x, t) on a SpaceTime cylinder), with an output map that sets V's offset and scale.

On a Box:       V(x) = offset + scale · m(x) · N_θ(z(x)), offset trained, both following V's size (rescale); m ≡ 1,
                or on a log box optionally the power law m(x) = Π_j (x_j / c_j)^{b_j} (set_profile): a V that spans
                orders of magnitude (Merton's x^{1−γ}) is then learnt relative to its local size.
On a cylinder:  u(x, t) = h(x) + c·τ(t) · N_θ(z(x, t)) (or b(x, t) + c·τ·N_θ over a known base b = h at the fixed
                time): a hard-wired initial (τ = t − t0) or terminal (τ = t1 − t) condition (FixedTime); or
                u(x, t) = offset + scale·N_θ(z(x), cos ωt, sin ωt), ω = 2π/period: periodic in t by construction,
                its offset and scale as on a Box (PeriodicTime).
Plain:          u = output(x, N_θ(z(x))) on either domain, a residual PDE's own output transform (identity if none).
"""
from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np
import torch

from hjb.backend import dde
from hjb.errors import ProblemError
from hjb.geometry.box import Box
from hjb.geometry.spacetime import SpaceTime
from hjb.nn.time_conditions import (
    FixedTime,
    FixedTimeOutput,
    PeriodicTime,
    input_map,
    periodic_input_map,
)
from hjb.pdes.generator import value_derivatives

Tensor = torch.Tensor


class _AffineOutput:
    """(x, y) ↦ offset + scale·m(x)·y with the offset, scale and profile m of `net`. An object and not a closure: a
    deep copy of the network then reads its own offset and scale (a copied closure would keep reading the
    original's, so a frozen greedy policy would follow every later rescale of the live critic)."""

    def __init__(self, net):
        self.net = net

    def __call__(self, x: Tensor, y: Tensor) -> Tensor:
        net = self.net
        if net.v_profiled:
            y = _power_law(x, net.v_power, net.v_centre) * y
        if net.v_quadratic_set:
            return net.v_offset + net.v_scale * y + _quadratic(x, net.v_linear, net.v_quadratic)
        return net.v_offset + net.v_scale * y


def _refresh_flags(net) -> None:
    """The output transform's shortcuts, derived from the buffers: v_profiled (some power ≠ 0) and v_quadratic_set
    (some linear or quadratic coefficient ≠ 0)."""
    net.v_profiled = bool(torch.any(net.v_power != 0))
    net.v_quadratic_set = bool(torch.any(net.v_linear != 0) or torch.any(net.v_quadratic != 0))


def _quadratic(x: Tensor, linear: Tensor, quadratic: Tensor) -> Tensor:
    """xᵀb + xᵀMx (n, 1) at x (n, d), b (d,), M (d, d)."""
    return (x @ linear + ((x @ quadratic) * x).sum(dim=-1)).reshape(-1, 1)


def _power_law(x: Tensor, power: Tensor, centre: Tensor) -> Tensor:
    """m(x) = exp(Σ_j b_j (log x_j − log c_j)) (n, 1) at x (n, d) > 0, in x's dtype."""
    return torch.exp((torch.log(x) - torch.log(centre).to(x.dtype)) @ power.to(x.dtype).reshape(-1, 1))


class ValueNetwork:
    """V_θ on a Box (`domain` a Box, no condition) or u_θ on a cylinder (`domain` a SpaceTime, with a FixedTime
    condition); see the module docstring. `box` is the space box either way."""

    def __init__(self, domain: Box | SpaceTime, width: int, depth: int, condition: FixedTime | PeriodicTime | None = None,
                 activation: str = "tanh", output: Callable[[Tensor, Tensor], Tensor] | None = None):
        self.domain, self.condition, self.dtype = domain, condition, torch.float64
        self.plain = output is not None
        if output is not None:  # a residual PDE's u = output(x, N_θ) on either domain
            self._plain(domain, width, depth, activation, output)
            return
        if isinstance(domain, SpaceTime):
            if condition is None:
                raise ProblemError("a value network on a space-time cylinder needs a FixedTime or PeriodicTime condition")
            if domain.box.scale != "linear":
                raise ProblemError("space-time networks need a linear-scale Box")
            self.box, d = domain.box, domain.dim
            if isinstance(condition, PeriodicTime):
                self.net = dde.nn.FNN([d + 2] + [width] * depth + [1], activation, "Glorot normal")
                self._affine_output(d)
                self.net.v_scale.fill_(condition.rate / condition.discount)
                self.net.apply_feature_transform(periodic_input_map(domain.box.lo, domain.box.hi, condition.period))
                return
            self.net = dde.nn.FNN([d + 1] + [width] * depth + [1], activation, "Glorot normal")
            lo, hi = np.append(domain.box.lo, domain.t0), np.append(domain.box.hi, domain.t1)
            self.net.apply_feature_transform(input_map(lo, hi, log=False))
            self.net.apply_output_transform(FixedTimeOutput(condition, d, domain.t0, domain.t1))
            return
        if condition is not None:
            raise ProblemError(f"a {type(condition).__name__} condition needs a SpaceTime domain; got a Box")
        self.box = domain
        self.net = dde.nn.FNN([domain.dim] + [width] * depth + [1], activation, "Glorot normal")
        self._affine_output(domain.dim)
        log = domain.scale == "log"
        lo, hi = (np.log(domain.lo), np.log(domain.hi)) if log else (domain.lo, domain.hi)
        self.net.apply_feature_transform(input_map(lo, hi, log))

    def _affine_output(self, d: int) -> None:
        """V = offset + scale·m(x)·N on d space dimensions: offset 0, scale 1, no profile until set."""
        # The offset is trained: the level of V is the stiffest direction of the residual (it enters
        # only through ρV), and one parameter for it lets the optimisers move it directly.
        self.net.v_offset = torch.nn.Parameter(torch.zeros((), dtype=torch.float64))
        self.net.register_buffer("v_scale", torch.ones((), dtype=torch.float64))
        # The profile's exponents b and centre c (set_profile); none (b = 0) until set.
        self.net.register_buffer("v_power", torch.zeros(d, dtype=torch.float64))
        self.net.register_buffer("v_centre", torch.ones(d, dtype=torch.float64))
        self.net.v_profiled = False
        # A quadratic xᵀb + xᵀMx beside the network (set_quadratic: the model-free exact solve's monomials); none
        # until set.
        self.net.register_buffer("v_linear", torch.zeros(d, dtype=torch.float64))
        self.net.register_buffer("v_quadratic", torch.zeros(d, d, dtype=torch.float64))
        self.net.v_quadratic_set = False
        self.net.apply_output_transform(_AffineOutput(self.net))

    def _plain(self, domain: Box | SpaceTime, width: int, depth: int, activation: str, output) -> None:
        """u = output(x, N_θ(z(x))), no offset, scale or FixedTime: the network of a residual PDE."""
        time = isinstance(domain, SpaceTime)
        self.box = domain.box if time else domain
        if time and self.box.scale != "linear":
            raise ProblemError("space-time networks need a linear-scale Box")
        lo, hi = (np.append(self.box.lo, domain.t0), np.append(self.box.hi, domain.t1)) if time else \
            (self.box.lo, self.box.hi)
        log = self.box.scale == "log"
        self.net = dde.nn.FNN([len(lo)] + [width] * depth + [1], activation, "Glorot normal")
        self.net.apply_feature_transform(input_map(np.log(lo) if log else lo, np.log(hi) if log else hi, log))
        self.net.apply_output_transform(output)

    @property
    def rate(self) -> float:
        """The cylinder's rate c (the scale of ∂_t u)."""
        return float(self._condition().rate)

    def _condition(self) -> FixedTime:
        if self.condition is None:
            raise ProblemError("only a value network on a space-time cylinder has a FixedTime rate")
        return self.condition

    @property
    def affine(self) -> bool:
        """True when V = offset + scale·m(x)·N (on a Box, or periodic in t); False with a FixedTime or a plain output."""
        return (self.condition is None or isinstance(self.condition, PeriodicTime)) and not self.plain

    def _affine(self):
        if not self.affine:
            raise ProblemError("only a value network on a Box (or periodic in t) has a trained output offset and scale")
        return self.net

    @property
    def scale(self) -> float:
        """Output scale of V (the spread of V)."""
        return float(self._affine().v_scale)

    def set_output_scale(self, offset: float, scale: float) -> None:
        """Fix V = offset + scale · N."""
        net = self._affine()
        with torch.no_grad():
            net.v_offset.fill_(float(offset))
            net.v_scale.fill_(float(scale))

    @property
    def profiled(self) -> bool:
        """True when V's output carries a power-law profile m(x) (set_profile)."""
        return self.affine and bool(self.net.v_profiled)

    def set_profile(self, power: np.ndarray, centre: np.ndarray) -> None:
        """V = offset + scale · m(x) · N with m(x) = Π_j (x_j / c_j)^{b_j}, b = power (d,), c = centre (d,) > 0: set
        on a fresh network (before training; it changes V), on a log box only."""
        net = self._affine()
        if self.box.scale != "log":
            raise ProblemError("a power-law output profile needs a log-scale Box (x > 0)")
        with torch.no_grad():
            net.v_power.copy_(torch.as_tensor(np.asarray(power, dtype=float).reshape(-1)))
            net.v_centre.copy_(torch.as_tensor(np.asarray(centre, dtype=float).reshape(-1)))
        _refresh_flags(net)

    @torch.no_grad()
    def set_quadratic(self, linear: Tensor, quadratic: Tensor) -> None:
        """V = offset + scale·m(x)·N + xᵀb + xᵀMx with b = linear (d,), M = quadratic (d, d), on a Box."""
        if self.condition is not None:
            raise ProblemError("a quadratic term needs a value network on a Box; this one is on a space-time cylinder")
        net = self._affine()
        net.v_linear.copy_(torch.as_tensor(linear, dtype=torch.float64).reshape(net.v_linear.shape))
        net.v_quadratic.copy_(torch.as_tensor(quadratic, dtype=torch.float64).reshape(net.v_quadratic.shape))
        _refresh_flags(net)

    def profile(self, x: Tensor) -> Tensor:
        """m(x) (n,) at x (n, d), detached float64: ones without a profile."""
        xt = x.detach().to(torch.float64)
        if not self.profiled:
            return torch.ones(len(xt), dtype=torch.float64)
        return _power_law(xt, self.net.v_power.detach(), self.net.v_centre.detach())[:, 0]

    def magnitude(self, x: Tensor) -> Tensor:
        """V's local size scale · m(x) (n,) at x (n, d), detached float64: the unit its errors are measured in."""
        return self.scale * self.profile(x)

    def shift_level(self, delta: float) -> None:
        """V ← V + δ: the output offset only."""
        with torch.no_grad():
            self._affine().v_offset += delta

    def rescale(self, offset: float, scale: float) -> None:
        """Change (offset, scale) to new values without changing V: the last layer absorbs the difference (with a
        profile m only the scale can change: (offset − offset')/m is not in the last layer's span)."""
        net = self._affine()
        if self.profiled and float(offset) != float(net.v_offset.detach()):
            raise ProblemError("a profiled value network keeps its offset when rescaled; pass the current offset")
        with torch.no_grad():
            old_offset, old_scale = float(net.v_offset.detach()), self.scale
            last = net.linears[-1]
            last.weight.mul_(old_scale / scale)
            last.bias.mul_(old_scale).add_(old_offset - offset).div_(scale)
        self.set_output_scale(offset, scale)

    def reinitialize(self) -> None:
        """Fresh Glorot-normal weights and zero biases (from torch's global generator); the output map is kept."""
        with torch.no_grad():
            for layer in self.net.linears:
                torch.nn.init.xavier_normal_(layer.weight)
                torch.nn.init.zeros_(layer.bias)

    def __call__(self, x: Tensor) -> Tensor:
        """V_θ (n, 1) at x (n, d) (or (n, d + 1) on a cylinder), with graph."""
        return self.net(x)

    def derivatives(self, x: Tensor, hessian: bool = True) -> tuple[Tensor, Tensor, Tensor | None]:
        """Detached V (n, 1), ∇V (n, d), ∇²V (n, d, d) at x (n, d), in float64."""
        with torch.enable_grad():
            xg = x.detach().to(self.dtype).clone().requires_grad_(True)
            V = self.net(xg)
            dV, d2V = value_derivatives(V, xg, create_graph=False, hessian=hessian)
        f64 = torch.float64
        return V.detach().to(f64), dV.detach().to(f64), None if d2V is None else d2V.detach().to(f64)

    def gradient(self, x: Tensor) -> Tensor:
        """Detached ∇V (n, d)."""
        return self.derivatives(x, hessian=False)[1]

    def value_derivatives(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Detached (∇V (n, d), ∇²V (n, d, d))."""
        return self.derivatives(x)[1:]

    def value(self, x: Tensor) -> Tensor:
        """Detached V (n,), in float64."""
        with torch.no_grad():
            return self.net(x.to(self.dtype))[:, 0].to(torch.float64)

    def values(self, x: np.ndarray) -> np.ndarray:
        """V (n,) at x (n, d) (or (n, d + 1)), detached numpy."""
        return self.value(torch.as_tensor(x, dtype=torch.float64)).numpy()

    def single_precision(self) -> ValueNetwork:
        """A copy with N_θ in float32, for Monte Carlo rollouts and sampling: its input gradient costs about half
        (1-D, 7200 points: 19 ms against 43 ms) at a relative error of about 1e-7 (a martingale control variate
        built from it keeps its mean exactly zero whatever its accuracy). Values come back in float64. On a Box
        the inputs are cast to float32 (dtype); on a cylinder h, b and the input map stay float64."""
        if self.affine:
            twin = copy.deepcopy(self)
            twin.net.float()
            twin.dtype = torch.float32
            return twin
        twin = copy.copy(self)
        twin.net = copy.deepcopy(self.net).float()
        features, output = self.net._input_transform, self.net._output_transform
        twin.net.apply_feature_transform(lambda xt: features(xt).float())
        twin.net.apply_output_transform(lambda xt, y: output(xt, y.double()))
        return twin

    def state(self) -> dict:
        """A copy of the weights (and the output offset and scale on a Box)."""
        return {k: v.detach().clone() for k, v in self.net.state_dict().items()}

    def load_state(self, state: dict) -> None:
        """Restore weights saved by state() (a Box network saved before profiles existed loads without one)."""
        state = dict(state)
        affine = self.affine
        if affine:
            state.setdefault("v_power", torch.zeros_like(self.net.v_power))
            state.setdefault("v_centre", torch.ones_like(self.net.v_centre))
            state.setdefault("v_linear", torch.zeros_like(self.net.v_linear))
            state.setdefault("v_quadratic", torch.zeros_like(self.net.v_quadratic))
        self.net.load_state_dict(state)
        if affine:
            _refresh_flags(self.net)

    def is_finite(self) -> bool:
        """True when every weight is finite."""
        return all(torch.isfinite(p).all() for p in self.net.state_dict().values())
