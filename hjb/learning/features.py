"""The bases of the model-free exact solve (hjb.learning.lstd): the networks' learnt features with the state's
monomials beside them, and the write-back of a solution into the networks (last layers and their polynomial terms).

J's basis is its last hidden layer h_J(x), then x_i·x_j (i ≤ j, while there are no more of them than J's width) and
x; the actor's is its last hidden layer and x. The monomials hold the LQ family's value and policy exactly, whatever
the features learnt: on the double integrator on [−0.25, 0.25]² (seed 0), policy iteration started at K* on J's learnt
features alone (and a linear actor) settled 4.6% and 3.0% off K*; the learner with the monomials, 0.45% and 0.37%.
Their cost in 1-D, where the learnt features already hold x² and x: near-collinear directions that make J's level
noisier (qlearn_lqr1d seed 1: J 0.099 off with them, 0.035 without). Admitting only their part outside the features'
span (above 1e-5 of their size) mended that (0.032) but left the double integrator unsettled at seeds 1 and 2."""
from __future__ import annotations

from collections.abc import Callable

import torch

from hjb.learning.learned import last_hidden

Tensor = torch.Tensor


def has_quadratic(d: int, width: int) -> bool:
    """True when the d(d+1)/2 quadratic monomials are no more than J's `width` learnt features (d ≤ 10 at 64)."""
    return d * (d + 1) // 2 <= width


def monomials(x: Tensor, quadratic: bool) -> Tensor:
    """(x_i·x_j for i ≤ j if quadratic, then x_i) (n, k) at x (n, d)."""
    if not quadratic:
        return x.clone()
    i, j = torch.triu_indices(x.shape[1], x.shape[1])
    return torch.cat([x[:, i] * x[:, j], x], dim=1)


def value_features(J) -> Callable[[Tensor], Tensor]:
    """x ↦ [h_J(x), monomials(x)] (n, width + k)."""
    quadratic = has_quadratic(J.box.dim, J.net.linears[-1].in_features)
    return lambda x: torch.cat([last_hidden(J.net, x), monomials(x, quadratic)], dim=1)


def actor_features(head) -> Callable[[Tensor], Tensor]:
    """x ↦ [h_actor(x), x] (n, width + d)."""
    return lambda x: torch.cat([last_hidden(head.net, x), x], dim=1)


@torch.no_grad()
def set_value(J, weights: Tensor, bias: Tensor) -> None:
    """J(x) = value_features(J)(x)·weights + bias (weights (width + k, 1), bias (1,)): the network's last layer, its
    offset and its quadratic term (J unprofiled; its output scale folded in)."""
    width, d = J.net.linears[-1].in_features, J.box.dim
    last = J.net.linears[-1]
    last.weight.copy_((weights[:width] / J.net.v_scale).T)
    last.bias.zero_()
    J.net.v_offset.fill_(float(bias[0]))
    rest = weights[width:, 0]
    quadratic = torch.zeros(d, d, dtype=weights.dtype)
    if len(rest) > d:
        i, j = torch.triu_indices(d, d)
        quadratic[i, j] = rest[:-d]
    J.set_quadratic(rest[-d:], quadratic)


@torch.no_grad()
def set_policy_mean(head, weights: Tensor, bias: Tensor) -> None:
    """The head's mean μ(x) = actor_features(head)(x)·weights + bias (weights (width + d, m), bias (m,))."""
    width = head.net.linears[-1].in_features
    head.set_mean_layer(weights[:width], bias, weights[width:])
