"""A residual PDE declared by hand: R(x, u, D) = 0 on a Box or a SpaceTime cylinder, with conditions
(hjb.pdes.conditions) and an optional output transform that builds a condition in exactly."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from hjb.errors import ProblemError, ShapeError
from hjb.geometry.box import Box
from hjb.geometry.spacetime import SpaceTime
from hjb.io.jsonio import plain
from hjb.pdes import conditions as cond
from hjb.pdes.derivatives import Derivatives
from hjb.pdes.names import component_names

Tensor = torch.Tensor
CHECK_POINTS = 8


class ResidualPDE:
    """residual(x, u, D) -> (n, 1): the PDE's residual at points x (n, d) (Box) or (n, d + 1) (SpaceTime, time last)
    for u (n, 1), D its Derivatives (D.dx(i), D.dxx(i, j), D.dt(), D.grad(), D.laplacian()); conditions from
    hjb.pdes.conditions; output_transform(x, y) -> u (n, 1), optional, maps the network's output y (n, 1) to u
    (e.g. u = g(x) + t·y builds an initial condition in exactly); solution(x) -> (n,), optional, a known exact u
    that only validation and export read (never the solver); state_names (d), default x0…, label plots and exports
    (hjb.pdes.names; a SpaceTime's time column is always t); paired: the residual returns (n, 2), two independent
    estimates per point (an estimated curvature), trained on their product's mean (hjb.pdes.generator).

    hjb's own residuals are instances too: the HJB policy-evaluation residual (hjb.solvers.evaluation), the
    finite-horizon, periodic and diffusion-model log-density ones (hjb.solvers.finite_horizon), the Fokker–Planck ones
    (hjb.solvers.density); hjb.nn.pinn_fit.train_pinn trains any of them."""

    def __init__(
        self,
        *,
        name: str,
        residual: Callable[[Tensor, Tensor, Derivatives], Tensor],
        domain: Box | SpaceTime,
        conditions: Sequence = (),
        output_transform: Callable[[Tensor, Tensor], Tensor] | None = None,
        solution: Callable[[np.ndarray], Any] | None = None,
        parameters: Mapping[str, Any] | None = None,
        state_names: Sequence[str] | None = None,
        paired: bool = False,
    ):
        if not isinstance(name, str) or not name:
            raise ProblemError(f"PDE name must be a non-empty string; got {name!r}")
        if not callable(residual):
            raise ProblemError(f"residual must be callable; got {type(residual).__name__}")
        if not isinstance(domain, (Box, SpaceTime)):
            raise ProblemError(f"domain must be an hjb Box or SpaceTime; got {type(domain).__name__}")
        for label, fn in (("output_transform", output_transform), ("solution", solution)):
            if fn is not None and not callable(fn):
                raise ProblemError(f"{label} must be callable; got {type(fn).__name__}")
        self.name, self.residual, self.domain = name, residual, domain
        self.conditions = cond.validate(conditions, domain)
        self.periodic = cond.periodic_axes(self.conditions, domain)
        self.output_transform, self.solution = output_transform, solution
        self.parameters = dict(parameters or {})
        self.state_names = component_names(state_names, domain.dim, "x", "state_names")
        self.paired = bool(paired)

    @property
    def time(self) -> bool:
        """True on a SpaceTime domain (points carry their time as the last column)."""
        return isinstance(self.domain, SpaceTime)

    @property
    def state_dim(self) -> int:
        """d, the space dimension."""
        return self.domain.dim

    @property
    def columns(self) -> int:
        """D: d, or d + 1 with time."""
        return self.domain.dim + (1 if self.time else 0)

    def residual_at(self, x: Tensor, u: Tensor, derivatives: Derivatives | None = None) -> Tensor:
        """R (n, 1) (paired: (n, 2)) at x (n, D) (requires grad) for u (n, 1) computed from x; ShapeError for any other
        shape ((n,) is read as (n, 1))."""
        r = self.residual(x, u, derivatives or Derivatives(x, u, self.time))
        columns = 2 if self.paired else 1
        if not isinstance(r, Tensor):
            raise ShapeError(f"residual of PDE {self.name!r} returned a {type(r).__name__}; expected a torch tensor "
                             f"({len(x)}, {columns})")
        if r.shape != (len(x), columns) and (self.paired or r.shape != (len(x),)):
            raise ShapeError(f"residual of PDE {self.name!r} returned shape {tuple(r.shape)}; expected "
                             f"({len(x)}, {columns})")
        return r.reshape(len(x), columns)

    def __call__(self, x: Tensor, u: Tensor) -> Tensor:
        """residual_at(x, u): the (x, u) ↦ R form DeepXDE calls."""
        return self.residual_at(x, u)

    def check_shapes(self) -> ResidualPDE:
        """Call the residual (and output transform) on a smooth test u at a few points: wrong shapes raise ShapeError
        before any training."""
        x = torch.as_tensor(self.domain.sample(CHECK_POINTS, "sobol", seed=0), dtype=torch.float64)
        x.requires_grad_(True)
        u = torch.sin(x).sum(dim=1, keepdim=True)
        if self.output_transform is not None:
            u = self.output_transform(x, u)
            if not isinstance(u, Tensor) or u.shape != (len(x), 1):
                raise ShapeError(f"output_transform of PDE {self.name!r} returned shape "
                                 f"{tuple(getattr(u, 'shape', ()))}; expected ({len(x)}, 1)")
        self.residual_at(x, u)
        return self

    def describe(self) -> dict[str, Any]:
        """JSON-ready summary: kind, name, domain, conditions (their kinds and parts), parameters."""
        parts = [{"kind": type(c).__name__, **({"on": c.on} if hasattr(c, "on") else {}),
                  **({"axis": c.axis} if hasattr(c, "axis") else {})} for c in self.conditions]
        return {"kind": "ResidualPDE", "name": self.name, "domain": self.domain.to_dict(), "conditions": parts,
                "state_names": list(self.state_names), "parameters": plain(self.parameters)}
