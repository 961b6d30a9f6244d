"""Conditions of a residual PDE on a Box or a SpaceTime cylinder, each built on DeepXDE's own condition class:
Dirichlet (u = g), Neumann (∂u/∂n = g), Initial (u(x, t0) = g(x)), Terminal (u(x, t1) = g(x)), Periodic (u and ∂u/∂x_i
equal on the two faces of axis i) and PointData (u = v at given points).

A part of the boundary is "boundary" (every face of a non-periodic axis), or one face "x<i>_lo" / "x<i>_hi". A value
g is a number or a function of the points (n, D) (numpy, D = d, or d + 1 with time last) returning (n,) or (n, 1).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from hjb.errors import ProblemError, ShapeError, UnknownNameError
from hjb.geometry.box import Box
from hjb.geometry.sampling import unit_points
from hjb.geometry.spacetime import SpaceTime

Value = float | Callable[[np.ndarray], Any]
Domain = Box | SpaceTime


def _box(domain: Domain) -> Box:
    return domain.box if isinstance(domain, SpaceTime) else domain


def face_names(domain: Domain) -> list[str]:
    """x<i>_lo and x<i>_hi for each space axis i."""
    return [f"x{i}_{side}" for i in range(_box(domain).dim) for side in ("lo", "hi")]


@dataclass(frozen=True)
class Dirichlet:
    """u = value on the part `on` of the spatial boundary."""

    value: Value
    on: str = "boundary"


@dataclass(frozen=True)
class Neumann:
    """∂u/∂n = value (outward normal) on the part `on` of the spatial boundary."""

    value: Value
    on: str = "boundary"


@dataclass(frozen=True)
class Initial:
    """u(x, t0) = value at the start of a SpaceTime domain."""

    value: Value


@dataclass(frozen=True)
class Terminal:
    """u(x, t1) = value at the end of a SpaceTime domain."""

    value: Value


@dataclass(frozen=True)
class Periodic:
    """u and ∂u/∂x_axis agree on the faces x_axis = lo and x_axis = hi: period hi − lo along that space axis."""

    axis: int


@dataclass(frozen=True)
class PointData:
    """u(points) = values: points (n, D), values (n,), each misfit weighted by weights (n,) ≥ 0 if given (e.g. inverse
    variances of Monte Carlo targets)."""

    points: Any
    values: Any
    weights: Any = None


CONDITIONS = (Dirichlet, Neumann, Initial, Terminal, Periodic, PointData)


def _faces(domain: Domain, part: str, periodic: set[int]) -> list[tuple[int, bool]]:
    """The faces (axis, upper) of `part`; UnknownNameError for a part the domain does not have."""
    d = _box(domain).dim
    if part == "boundary":
        faces = [(i, upper) for i in range(d) if i not in periodic for upper in (False, True)]
        if not faces:
            raise ProblemError("the condition is on the boundary, but every axis is periodic: there is no boundary")
        return faces
    if part not in face_names(domain):
        raise UnknownNameError(f"unknown part of the boundary {part!r}; expected one of "
                               f"{', '.join(['boundary'] + face_names(domain))}")
    axis, side = int(part[1:].split("_")[0]), part.rsplit("_", 1)[1]
    if axis in periodic:
        raise ProblemError(f"part {part!r} is a face of periodic axis {axis}, which has no boundary")
    return [(axis, side == "hi")]


def validate(conditions, domain: Domain) -> tuple:
    """The conditions as a tuple, each checked against the domain (parts, time, axes, point shapes)."""
    conditions = tuple(conditions)
    periodic = periodic_axes(conditions, domain)
    columns = _box(domain).dim + (1 if isinstance(domain, SpaceTime) else 0)
    for c in conditions:
        if not isinstance(c, CONDITIONS):
            raise ProblemError(f"a condition is a {type(c).__name__}; expected one of "
                               f"{', '.join(k.__name__ for k in CONDITIONS)}")
        if isinstance(c, (Dirichlet, Neumann)):
            _faces(domain, c.on, periodic)
        if isinstance(c, (Initial, Terminal)) and not isinstance(domain, SpaceTime):
            raise ProblemError(f"an {type(c).__name__} condition needs a SpaceTime domain; this one is a Box (no time)")
        if isinstance(c, PointData):
            points, values = np.asarray(c.points, dtype=float), np.asarray(c.values, dtype=float)
            if points.ndim != 2 or points.shape[1] != columns or values.reshape(-1).shape != (len(points),):
                raise ShapeError(f"PointData needs points (n, {columns}) and values (n,); got {points.shape} and "
                                 f"{values.shape}")
            if not (np.all(np.isfinite(points)) and np.all(np.isfinite(values))):
                raise ProblemError("PointData points and values must be finite")
            if c.weights is not None:
                weights = np.asarray(c.weights, dtype=float)
                if weights.reshape(-1).shape != (len(points),) or not np.all(np.isfinite(weights) & (weights >= 0)):
                    raise ProblemError(f"PointData weights must be {len(points)} finite numbers ≥ 0; got shape "
                                       f"{weights.shape}")
    return conditions


def periodic_axes(conditions, domain: Domain) -> set[int]:
    """The space axes made periodic; ProblemError for an axis the domain does not have."""
    d, axes = _box(domain).dim, set()
    for c in conditions:
        if isinstance(c, Periodic):
            if isinstance(c.axis, bool) or not isinstance(c.axis, int) or not 0 <= c.axis < d:
                raise ProblemError(f"Periodic axis {c.axis!r} does not exist; expected an integer in [0, {d})")
            axes.add(c.axis)
    return axes


def _from_unit(domain: Domain, u: np.ndarray) -> np.ndarray:
    box = _box(domain)
    x = box.from_unit(u[:, : box.dim])
    if isinstance(domain, SpaceTime):
        x = np.concatenate([x, domain.t0 + u[:, -1:] * (domain.t1 - domain.t0)], axis=1)
    return x


def condition_points(condition, domain: Domain, periodic: set[int], n: int, seed: int) -> np.ndarray:
    """n points (n, D) exactly on the condition's part (Sobol, spread evenly over its faces); none for PointData."""
    box, columns = _box(domain), _box(domain).dim + (1 if isinstance(domain, SpaceTime) else 0)
    if isinstance(condition, PointData):
        return np.empty((0, columns))
    if isinstance(condition, (Initial, Terminal)):
        x = _from_unit(domain, unit_points(n, columns, "sobol", seed))
        x[:, -1] = domain.t0 if isinstance(condition, Initial) else domain.t1
        return x
    faces = [(condition.axis, False)] if isinstance(condition, Periodic) else _faces(domain, condition.on, periodic)
    blocks = []
    for k, (axis, upper) in enumerate(faces):  # a Sobol set of its own per face: every k-th point of one set clusters
        x = _from_unit(domain, unit_points(-(-n // len(faces)), columns, "sobol", seed + 7919 * k))
        x[:, axis] = box.hi[axis] if upper else box.lo[axis]
        blocks.append(x)
    return np.concatenate(blocks)[:n] if len(faces) == 1 else np.concatenate(blocks)


def value_column(value: Value) -> Callable[[np.ndarray], np.ndarray]:
    """g as DeepXDE wants it: points (n, D) ↦ (n, 1)."""
    if callable(value):
        return lambda x: np.asarray(value(x), dtype=float).reshape(len(x), 1)
    constant = float(value)
    return lambda x: np.full((len(x), 1), constant)


def _on_faces(faces: list[tuple[int, bool]], box: Box) -> Callable[[np.ndarray, bool], bool]:
    def on(x: np.ndarray, _on_boundary: bool) -> bool:
        return any(np.isclose(x[axis], box.hi[axis] if upper else box.lo[axis]) for axis, upper in faces)

    return on


def to_deepxde(condition, domain: Domain, geometry, periodic: set[int]) -> list:
    """The DeepXDE condition objects (icbc) of one condition on `geometry` (the domain's DeepXDE geometry)."""
    from hjb.backend import dde

    box = _box(domain)
    if isinstance(condition, PointData):
        return [_point_set_bc(condition)]
    if isinstance(condition, Initial):
        return [dde.icbc.IC(geometry, value_column(condition.value), lambda x, on_initial: on_initial)]
    if isinstance(condition, Terminal):
        end = domain.t1
        return [dde.icbc.DirichletBC(geometry, value_column(condition.value), lambda x, _: np.isclose(x[-1], end))]
    if isinstance(condition, Periodic):
        on = _on_faces([(condition.axis, False)], box)
        return [dde.icbc.PeriodicBC(geometry, condition.axis, on, derivative_order=k) for k in (0, 1)]
    on = _on_faces(_faces(domain, condition.on, periodic), box)
    kind = dde.icbc.DirichletBC if isinstance(condition, Dirichlet) else dde.icbc.NeumannBC
    return [kind(geometry, value_column(condition.value), on)]


def _point_set_bc(condition: PointData):
    """DeepXDE's PointSetBC, with a weight per point if the condition has weights: the misfit √w_i·(u(x_i) − v_i),
    so its mean square is mean(w_i (u(x_i) − v_i)²)."""

    from hjb.backend import dde

    values = np.asarray(condition.values, dtype=float).reshape(-1, 1)
    bc = dde.icbc.PointSetBC(np.asarray(condition.points, dtype=float), values, component=0)
    if condition.weights is None:
        return bc
    root_weights = torch.as_tensor(np.sqrt(np.asarray(condition.weights, dtype=float)).reshape(-1, 1))
    plain = bc.error

    def error(X, inputs, outputs, beg, end, aux_var=None):
        misfit = plain(X, inputs, outputs, beg, end, aux_var)
        return root_weights.to(misfit.dtype) * misfit

    bc.error = error
    return bc
