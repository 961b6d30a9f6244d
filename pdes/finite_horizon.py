"""Finite-horizon control: maximise E[∫_t^T e^{−ρ(s−t)} r(X_s, a_s, s) ds + e^{−ρ(T−t)} g(X_T)] for
dX = f(X, a, s) ds + Σ(X, a, s) dW, with a discount ρ ≥ 0 (0 by default).

Its HJB is ρV − ∂_t V = max_a {r + L^a V} with V(x, T) = g(x), the generator L^a V from hjb.pdes.generator. With
Σ ≡ 0 (a deterministic problem) it is first order, −∂_t V + ρV = max_a {r + f·∇V}, and has no classical solution in
general: the PINN approximates the viscosity solution by a smooth function (see the README, "Deterministic problems").
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from hjb.errors import ProblemError, ShapeError, non_negative, positive_int
from hjb.geometry.box import Box
from hjb.geometry.spacetime import SpaceTime
from hjb.io.jsonio import plain
from hjb.pdes.generator import generator, needs_hessian, space_time_derivatives
from hjb.pdes.names import state_and_action_names

Tensor = torch.Tensor
TimedFn = Callable[[Tensor, Tensor, Tensor], Tensor]


class FiniteHorizonProblem:
    """drift(x, a, t) -> (n, d), diffusion(x, a, t) -> (n, d, k), reward(x, a, t) -> (n, 1), terminal(x) -> (n, 1)
    for x (n, d), a (n, m), t (n, 1), on box × [0, horizon]. Optional greedy_action(x, t, ∇V, ∇²V) -> (n, m),
    the closed-form argmax_a {r + L^a V} (greedy_uses_hessian=False when it ignores ∇²V, which is then None above
    3-D), initial_policy(x, t) -> (n, m) (default a ≡ 0), base(x, t) -> (n, 1), a known guess b of V with
    b(·, T) = g that the value network builds on: V = b + (T − t)·c·N_θ (default b = g), initial_law(n, rng) ->
    (n, d), the law of X_0 whose closed-loop paths then supply the collocation points (hjb.montecarlo.rollouts), and
    discount ρ ≥ 0 (default 0). state_names (d) and action_names (m), default x0…, a0…, label plots, exports and
    reports (hjb.pdes.names); the time column is always t."""

    def __init__(
        self,
        *,
        name: str,
        drift: TimedFn,
        diffusion: TimedFn,
        reward: TimedFn,
        terminal: Callable[[Tensor], Tensor],
        horizon: float,
        domain: Box,
        action_dim: int,
        greedy_action: Callable[[Tensor, Tensor, Tensor, Tensor], Tensor] | None = None,
        greedy_uses_hessian: bool = True,
        initial_policy: Callable[[Tensor, Tensor], Tensor] | None = None,
        base: Callable[[Tensor, Tensor], Tensor] | None = None,
        initial_law: Callable[[int, np.random.Generator], Any] | None = None,
        parameters: Mapping[str, Any] | None = None,
        discount: float = 0.0,
        state_names: Sequence[str] | None = None,
        action_names: Sequence[str] | None = None,
    ):
        if not isinstance(name, str) or not name:
            raise ProblemError(f"problem name must be a non-empty string; got {name!r}")
        for label, fn in (("drift", drift), ("diffusion", diffusion), ("reward", reward), ("terminal", terminal)):
            if not callable(fn):
                raise ProblemError(f"{label} must be callable; got {type(fn).__name__}")
        for label, fn in (("base", base), ("initial_law", initial_law)):
            if fn is not None and not callable(fn):
                raise ProblemError(f"{label} must be callable; got {type(fn).__name__}")
        positive_int(action_dim, "action_dim")
        try:
            T = float(horizon)
        except (TypeError, ValueError):
            raise ProblemError(f"the horizon T must be a positive number; got {horizon!r}") from None
        if not (np.isfinite(T) and T > 0):
            raise ProblemError(f"the horizon T must be a positive number; got {horizon!r}")
        self.name, self.discount = name, non_negative(discount, "discount ρ")
        self.drift, self.diffusion, self.reward, self.terminal = drift, diffusion, reward, terminal
        self.horizon, self.action_dim = T, int(action_dim)
        self.domain = SpaceTime(domain, T)
        self.state_names, self.action_names = state_and_action_names(state_names, action_names, domain.dim,
                                                                     self.action_dim)
        self.greedy_action, self._initial_policy, self.base = greedy_action, initial_policy, base
        self.greedy_uses_hessian = bool(greedy_uses_hessian)
        self.initial_law = initial_law
        self.parameters = dict(parameters or {})

    @property
    def state_dim(self) -> int:
        """Dimension d of the state."""
        return self.domain.dim

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(name={self.name!r}, d={self.state_dim}, m={self.action_dim}, T={self.horizon}"
                f"{f', ρ={self.discount}' if self.discount else ''})")

    def describe(self) -> dict:
        """JSON-ready description: name, kind, dimensions, component names, horizon, domain, parameters."""
        return {"name": self.name, "kind": type(self).__name__, "state_dim": self.state_dim,
                "action_dim": self.action_dim, "state_names": list(self.state_names),
                "action_names": list(self.action_names), "horizon": self.horizon, "discount": self.discount,
                "deterministic": self.deterministic, "domain": self.domain.to_dict(),
                "has_greedy_action": self.greedy_action is not None, "parameters": plain(self.parameters)}

    @property
    def deterministic(self) -> bool:
        """True when Σ(x, a, t) ≡ 0 at 64 sample points (at the initial policy): the HJB is then first order, and V is
        in general only its viscosity solution, which the smooth network approximates (kinks rounded off)."""
        xt = torch.as_tensor(self.domain.sample(64, "uniform", seed=1), dtype=torch.float64)
        x, t = xt[:, : self.state_dim], xt[:, self.state_dim:]
        with torch.no_grad():
            return not bool(torch.any(self.diffusion(x, self.initial_policy(x, t), t) != 0))

    def initial_policy(self, x: Tensor, t: Tensor) -> Tensor:
        """The starting policy α_0(x, t) (n, m): the declared one, else 0."""
        if self._initial_policy is not None:
            return self._initial_policy(x, t)
        return torch.zeros(x.shape[0], self.action_dim, dtype=x.dtype)

    def check_shapes(self, n: int = 5) -> int:
        """Call every function on n points; ShapeError naming the function and both shapes. Returns k."""
        d, m = self.state_dim, self.action_dim
        xt = torch.as_tensor(self.domain.sample(n, "uniform", seed=0), dtype=torch.float64)
        x, t = xt[:, :d], xt[:, d:]
        checks = (("initial_policy", self.initial_policy, (x, t), (n, m)), ("drift", None, None, (n, d)),
                  ("reward", None, None, (n, 1)), ("terminal", self.terminal, (x,), (n, 1)))
        a = None
        for label, fn, args, shape in checks:
            out = fn(*args) if fn is not None else getattr(self, label)(x, a, t)
            if not isinstance(out, Tensor) or tuple(out.shape) != shape:
                got = tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__
                raise ShapeError(f"{label} returned shape {got}; expected {shape}")
            if label == "initial_policy":
                a = out
        if self.base is not None:
            b, g = self.base(x, t), self.terminal(x)
            if not isinstance(b, Tensor) or tuple(b.shape) != (n, 1):
                got = tuple(b.shape) if isinstance(b, Tensor) else type(b).__name__
                raise ShapeError(f"base returned shape {got}; expected {(n, 1)}")
            if not torch.equal(self.base(x, torch.full_like(t, self.horizon)), g):
                raise ProblemError(f"problem {self.name!r}: base(x, T) must equal the terminal g(x)")
        sigma = self.diffusion(x, a, t)
        if not isinstance(sigma, Tensor) or sigma.ndim != 3 or sigma.shape[:2] != (n, d):
            got = tuple(sigma.shape) if isinstance(sigma, Tensor) else type(sigma).__name__
            raise ShapeError(f"diffusion returned shape {got}; expected (n, d, k) = ({n}, {d}, k)")
        return int(sigma.shape[2])


def finite_horizon_hamiltonian(problem: FiniteHorizonProblem, x: Tensor, t: Tensor, a: Tensor, dV: Tensor,
                               d2V: Tensor | None, graph_to: Tensor | None = None, curvature: str = "exact"
                               ) -> Tensor:
    """r(x, a, t) + L^a V (n, 1) for x (n, d), t (n, 1), a (n, m), ∇V (n, d), ∇²V (n, d, d) (or None: the curvature
    along Σ's columns from ∇V's graph to graph_to, the space-time points (n, d + 1), exactly or estimated:
    hjb.pdes.generator.generator's curvature)."""
    return problem.reward(x, a, t) + generator(dV, d2V, problem.drift(x, a, t), problem.diffusion(x, a, t), graph_to,
                                               curvature)


def finite_horizon_residual(
    problem: FiniteHorizonProblem, x: Tensor, t: Tensor, dVdt: Tensor, dV: Tensor, d2V: Tensor | None,
    a: Tensor | None = None, graph_to: Tensor | None = None, curvature: str = "exact", value: Tensor | None = None,
) -> Tensor:
    """∂_t V − ρV + r + L^a V (n, 1): the evaluation residual for a fixed a (n, m), the HJB residual
    ∂_t V − ρV + max_a {r + L^a V} when a is None (the problem's closed-form greedy action); value V (n, 1) is needed
    when ρ > 0; d2V None and curvature: see finite_horizon_hamiltonian."""
    if problem.discount and value is None:
        raise ProblemError(f"problem {problem.name!r} has a discount ρ = {problem.discount}: its residual needs V")
    if a is None:
        if problem.greedy_action is None:
            raise ProblemError(f"problem {problem.name!r} declares no greedy_action; pass the maximising action instead")
        a = problem.greedy_action(x, t, dV, d2V)
    discounted = dVdt if not problem.discount else dVdt - problem.discount * value
    return discounted + finite_horizon_hamiltonian(problem, x, t, a, dV, d2V, graph_to, curvature)


def finite_horizon_residual_at(problem: FiniteHorizonProblem, value, xt: Tensor) -> Tensor:
    """Detached HJB residual ∂_t V − ρV + max_a {r + L^a V} (n, 1) of value: (n, d + 1) -> (n, 1) at space-time points
    xt (n, d + 1), float64, at the closed-form greedy action; ∇²V only where needs_hessian, and the curvature
    estimated (DIAGNOSTIC_PROBES probes) where training estimates it."""
    d = problem.state_dim
    hessian = needs_hessian(d, problem.greedy_uses_hessian)
    with torch.enable_grad():
        xg = xt.detach().clone().requires_grad_(True)
        V = value(xg)
        dVdt, dV, d2V = space_time_derivatives(V, xg, create_graph=False, hessian=hessian)
        x, t, V = xg[:, :d].detach(), xg[:, d:].detach(), V.detach()
        if hessian:
            with torch.no_grad():
                return finite_horizon_residual(problem, x, t, dVdt.detach(), dV.detach(), d2V, value=V)
        a = problem.greedy_action(x, t, dV.detach(), None) if problem.greedy_action is not None else None
        return finite_horizon_residual(problem, x, t, dVdt, dV, None, a, graph_to=xg, curvature="auto",
                                       value=V).detach()
