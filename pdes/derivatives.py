"""Derivatives of a network's output u at its input points, for residuals written by hand: ∂u/∂x_i, ∂²u/∂x_i∂x_j,
∂u/∂t, ∇u and Δu, each taken once (reverse mode, with graph) and cached."""
from __future__ import annotations

import torch

from hjb.errors import ProblemError

Tensor = torch.Tensor


class Derivatives:
    """Derivatives of u (n, 1) at x (n, d), or at space-time points (n, d + 1) with time last (time=True)."""

    def __init__(self, x: Tensor, u: Tensor, time: bool = False):
        self.x, self.u, self.time = x, u, time
        self.dim = x.shape[1] - (1 if time else 0)
        self._first: Tensor | None = None
        self._rows: dict[int, Tensor] = {}
        self.read: list[Tensor] = []  # every derivative handed out, for the size of the terms a residual balances

    def _out(self, value: Tensor) -> Tensor:
        self.read.append(value)
        return value

    def _gradient(self) -> Tensor:
        if self._first is None:
            self._first = torch.autograd.grad(self.u.sum(), self.x, create_graph=True)[0]
        return self._first

    def _axis(self, i: int) -> int:
        if isinstance(i, bool) or not isinstance(i, int) or not -self.dim <= i < self.dim:
            raise ProblemError(f"space axis {i!r} does not exist; expected an integer in [0, {self.dim})")
        return i % self.dim

    def dx(self, i: int) -> Tensor:
        """∂u/∂x_i (n, 1)."""
        i = self._axis(i)
        return self._out(self._gradient()[:, i : i + 1])

    def dxx(self, i: int, j: int | None = None) -> Tensor:
        """∂²u/∂x_i∂x_j (n, 1) (j = i by default)."""
        i = self._axis(i)
        j = i if j is None else self._axis(j)
        if i not in self._rows:
            self._rows[i] = torch.autograd.grad(self._gradient()[:, i].sum(), self.x, create_graph=True)[0]
        return self._out(self._rows[i][:, j : j + 1])

    def dt(self) -> Tensor:
        """∂u/∂t (n, 1); only on a SpaceTime domain."""
        if not self.time:
            raise ProblemError("dt() needs a SpaceTime domain; this residual's domain is a Box (no time)")
        return self._out(self._gradient()[:, -1:])

    def grad(self) -> Tensor:
        """∇_x u (n, d)."""
        return self._out(self._gradient()[:, : self.dim])

    def laplacian(self) -> Tensor:
        """Δ_x u (n, 1): d second derivatives."""
        return self._out(sum(self.dxx(i) for i in range(self.dim)))

    def term_size(self) -> float:
        """The largest rms, over the points, of u and of each derivative handed out (per column)."""
        sizes = [float(torch.sqrt(torch.mean(v.detach() ** 2, dim=0)).max()) for v in [self.u, *self.read]]
        return max(sizes)
