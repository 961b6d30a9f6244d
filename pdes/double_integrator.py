"""The double integrator of issue 14 as a StochasticLQR: state (x, v), dx = v dt, dv = a dt + 0.05 dW,
r = −(x² + v² + 0.1a²), ρ = 0.1, |a| ≤ bound.

In hjb's ½-convention r = −½(sᵀQs + aᵀRa) this is Q = 2I, R = 0.2; A = [[0, 1], [0, 0]], B = (0, 1)ᵀ, D = (0, 0.05)ᵀ.
Without the bound, hjb.validation.riccati.lqr_solution gives the optimal gain K* = (2.96663, 3.94196), a* = −K*s.
"""
from __future__ import annotations

from hjb.errors import positive
from hjb.geometry.box import Box
from hjb.pdes.lqr import StochasticLQR

NOISE = 0.05
DISCOUNT = 0.1


def double_integrator(bound: float | None = 2.0, domain: Box | None = None) -> StochasticLQR:
    """The double integrator on `domain` (default [−2, 2]²) with the action clipped to [−bound, bound] (None: no
    bound, the pure LQR whose closed form is the Riccati one). With the bound the Riccati solution is only the
    unconstrained reference: −K*s leaves [−2, 2] on much of the default box (|K*s| reaches 13.8 at its corners)."""
    if bound is None:
        bounds = None
    else:
        b = positive(bound, "bound must be a number > 0 (or None for no bound)")
        bounds = ([-b], [b])
    return StochasticLQR(
        A=[[0.0, 1.0], [0.0, 0.0]],
        B=[[0.0], [1.0]],
        Q=[[2.0, 0.0], [0.0, 2.0]],
        R=[[0.2]],
        D=[[0.0], [NOISE]],
        discount=DISCOUNT,
        domain=domain,
        name="double_integrator",
        action_bounds=bounds,
        state_names=("x", "v"),
        action_names=("a",),
    )
