"""A controlled diffusion dX = f(X, a) dt + Σ(X, a) dW with reward r(X, a) and discount ρ, on a box."""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from hjb.errors import ProblemError, ShapeError, UnknownNameError, positive_int
from hjb.geometry.box import Box
from hjb.io.jsonio import plain
from hjb.pdes.names import state_and_action_names

Tensor = torch.Tensor
DynamicsFn = Callable[[Tensor, Tensor], Tensor]
PolicyFn = Callable[[Tensor], Tensor]
GreedyFn = Callable[[Tensor, Tensor, Tensor], Tensor]


class ControlProblem:
    """Maximise E ∫_0^∞ e^{-ρt} r(X_t, a_t) dt over a ∈ R^m for dX = f dt + Σ dW on the box `domain`.

    drift(x, a) -> (n, d), diffusion(x, a) -> (n, d, k), reward(x, a) -> (n, 1) for x (n, d), a (n, m).
    Optional: action_bounds = (low, high) each of length m; initial_policy(x) -> (n, m), an admissible
    starting policy (default a ≡ 0 clipped into the bounds); greedy_action(x, ∇V, ∇²V) -> (n, m), the
    closed-form argmax_a {r + L^a V} when the Hamiltonian is concave in a (greedy_uses_hessian=False
    when it ignores ∇²V, which saves a Hessian per evaluation); parameters, a JSON-ready dict; initial_law(n, rng) ->
    (n, d), a law of X_0 whose closed-loop paths then supply the collocation, probe and anchor points
    (hjb.montecarlo.rollouts.visited_states).
    boundary: what the process does at the box's faces: "none" (the box only truncates where V is sought; V's
    behaviour there is left to the PDE and the anchors), "exit" (it stops there and collects boundary_reward(x) ->
    (n, 1), default 0: V = g on ∂box, a Dirichlet condition) or "reflect" (it is reflected: ∇V·n = 0, Neumann).
    A boundary needs the box to be the state space, so not with initial_law (an unbounded process sampled from
    its law). state_names (d) and action_names (m), default x0…, a0…, label plots, exports and reports
    (hjb.pdes.names).
    """

    def __init__(
        self,
        *,
        name: str,
        drift: DynamicsFn,
        diffusion: DynamicsFn,
        reward: DynamicsFn,
        discount: float,
        domain: Box,
        action_dim: int,
        action_bounds: tuple[Sequence[float], Sequence[float]] | None = None,
        initial_policy: PolicyFn | None = None,
        greedy_action: GreedyFn | None = None,
        greedy_uses_hessian: bool = True,
        parameters: Mapping[str, Any] | None = None,
        initial_law: Callable[[int, np.random.Generator], Any] | None = None,
        boundary: str = "none",
        boundary_reward: PolicyFn | None = None,
        state_names: Sequence[str] | None = None,
        action_names: Sequence[str] | None = None,
    ):
        if not isinstance(name, str) or not name:
            raise ProblemError(f"problem name must be a non-empty string; got {name!r}")
        for label, fn in (("drift", drift), ("diffusion", diffusion), ("reward", reward)):
            if not callable(fn):
                raise ProblemError(f"{label} must be a callable (x, a) -> tensor; got {type(fn).__name__}")
        for label, fn in (("initial_policy", initial_policy), ("greedy_action", greedy_action),
                          ("initial_law", initial_law)):
            if fn is not None and not callable(fn):
                raise ProblemError(f"{label} must be callable or None; got {type(fn).__name__}")
        try:
            rho = float(discount)
        except (TypeError, ValueError):
            raise ProblemError(f"discount must be a positive number; got {discount!r}") from None
        if not (math.isfinite(rho) and rho > 0):
            raise ProblemError(f"discount must be a positive number (ρ > 0); got {discount!r}")
        if not isinstance(domain, Box):
            raise ProblemError(f"domain must be an hjb.geometry.Box; got {type(domain).__name__}")
        positive_int(action_dim, "action_dim")
        self.name = name
        self.drift, self.diffusion, self.reward = drift, diffusion, reward
        self.discount = rho
        self.domain = domain
        self.action_dim = int(action_dim)
        self.action_bounds = _check_bounds(action_bounds, self.action_dim)
        self.state_names, self.action_names = state_and_action_names(state_names, action_names, domain.dim,
                                                                     self.action_dim)
        self._initial_policy = initial_policy
        self.greedy_action = greedy_action
        self.greedy_uses_hessian = bool(greedy_uses_hessian)
        self.parameters = dict(parameters or {})
        self.initial_law = initial_law
        self.boundary = _check_boundary(boundary, boundary_reward, initial_law)
        self._boundary_reward = boundary_reward

    @property
    def has_initial_policy(self) -> bool:
        """True when the problem declares its own initial_policy (else α₀ ≡ 0 clipped into the bounds)."""
        return self._initial_policy is not None

    def boundary_reward(self, x: Tensor) -> Tensor:
        """g(x) (n, 1) collected on exit at boundary points x (n, d): the declared one, else 0."""
        if self._boundary_reward is None:
            return torch.zeros(x.shape[0], 1, dtype=x.dtype)
        return self._boundary_reward(x)

    @property
    def state_dim(self) -> int:
        """Dimension d of the state."""
        return self.domain.dim

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, d={self.state_dim}, m={self.action_dim}, ρ={self.discount})"

    def describe(self) -> dict:
        """JSON-ready description: name, dimensions, component names, discount, domain, bounds, boundary and
        parameters."""
        bounds = None if self.action_bounds is None else [b.tolist() for b in self.action_bounds]
        return {
            "name": self.name,
            "kind": type(self).__name__,
            "state_dim": self.state_dim,
            "action_dim": self.action_dim,
            "state_names": list(self.state_names),
            "action_names": list(self.action_names),
            "discount": self.discount,
            "domain": self.domain.to_dict(),
            "action_bounds": bounds,
            "has_greedy_action": self.greedy_action is not None,
            "boundary": self.boundary,
            "has_boundary_reward": self._boundary_reward is not None,
            "parameters": plain(self.parameters),
        }

    def clip_action(self, a: Tensor) -> Tensor:
        """a (n, m) clipped into the action bounds (unchanged without bounds)."""
        if self.action_bounds is None:
            return a
        low, high = (torch.as_tensor(b, dtype=a.dtype) for b in self.action_bounds)
        return torch.maximum(torch.minimum(a, high), low)

    def initial_policy(self, x: Tensor) -> Tensor:
        """The admissible starting policy α_0(x) (n, m): the declared one, else 0 clipped into the bounds."""
        if self._initial_policy is not None:
            return self.clip_action(self._initial_policy(x))
        return self.clip_action(torch.zeros(x.shape[0], self.action_dim, dtype=x.dtype))

    def check_shapes(self, n: int = 5) -> int:
        """Call every problem function on n points of the domain; raise ShapeError on a wrong shape.

        Returns the noise dimension k of the diffusion (n, d, k).
        """
        d, m = self.state_dim, self.action_dim
        x = torch.as_tensor(self.domain.sample(n, "uniform", seed=0), dtype=torch.float64)
        a = _checked("initial_policy", self.initial_policy, (x,), (n, m), "(n, m)")
        _checked("drift", self.drift, (x, a), (n, d), "(n, d)")
        sigma = _call("diffusion", self.diffusion, (x, a))
        if sigma.ndim != 3 or sigma.shape[:2] != (n, d):
            raise ShapeError(
                f"diffusion returned shape {tuple(sigma.shape)}; expected (n, d, k) = ({n}, {d}, k)"
            )
        _checked("reward", self.reward, (x, a), (n, 1), "(n, 1)")
        if self.greedy_action is not None:
            dV = torch.zeros(n, d, dtype=x.dtype)
            d2V = -torch.eye(d, dtype=x.dtype).expand(n, d, d)
            _checked("greedy_action", self.greedy_action, (x, dV, d2V), (n, m), "(n, m)")
        if self._boundary_reward is not None:
            edge = x.clone()
            edge[:, 0] = float(self.domain.lo[0])  # points of the face x_0 = lo_0
            _checked("boundary_reward", self.boundary_reward, (edge,), (n, 1), "(n, 1)")
        return int(sigma.shape[2])


def _call(label: str, fn, args) -> Tensor:
    out = fn(*args)
    if not isinstance(out, torch.Tensor):
        raise ShapeError(f"{label} must return a torch.Tensor; got {type(out).__name__}")
    return out


def _checked(label: str, fn, args, expected: tuple, pattern: str) -> Tensor:
    out = _call(label, fn, args)
    if tuple(out.shape) != expected:
        raise ShapeError(f"{label} returned shape {tuple(out.shape)}; expected {pattern} = {expected}")
    return out


def _check_bounds(bounds, m: int):
    if bounds is None:
        return None
    try:
        low, high = (np.atleast_1d(np.asarray(b, dtype=float)) for b in bounds)
    except (TypeError, ValueError):
        raise ProblemError(f"action_bounds must be (low, high) with {m} numbers each; got {bounds!r}") from None
    if low.shape != (m,) or high.shape != (m,):
        raise ProblemError(f"action_bounds must be (low, high) with {m} numbers each; got shapes {low.shape}, {high.shape}")
    if np.any(high < low):
        raise ProblemError(f"action_bounds need low ≤ high; got low={low.tolist()}, high={high.tolist()}")
    return low, high


BOUNDARIES = ("none", "exit", "reflect")


def _check_boundary(boundary, reward, initial_law) -> str:
    """The boundary behaviour's name, checked against BOUNDARIES, boundary_reward and initial_law."""
    if not isinstance(boundary, str) or boundary not in BOUNDARIES:
        raise UnknownNameError(f"unknown boundary {boundary!r}; expected one of {', '.join(BOUNDARIES)}")
    if reward is not None and not callable(reward):
        raise ProblemError(f"boundary_reward must be callable x -> (n, 1) or None; got {type(reward).__name__}")
    if reward is not None and boundary != "exit":
        raise ProblemError(f"boundary_reward is collected on exit; it needs boundary='exit', not {boundary!r}")
    if boundary != "none" and initial_law is not None:
        condition = "Neumann (reflection)" if boundary == "reflect" else "Dirichlet (exit)"
        raise ProblemError(f"a {condition} condition needs a boundary, but this problem has none: its states come "
                           "from initial_law (an unbounded process) and its box only truncates; drop initial_law or "
                           "use boundary='none'")
    return boundary
