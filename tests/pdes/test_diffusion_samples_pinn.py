"""The kernel-density log p̂ of a SampleLaw (the terminal condition of the PINN trained from samples): its value and
analytic derivatives up to the third against the dense log-sum-exp by autograd, chunking, and the cache."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from hjb.errors import DataLawError
from hjb.pdes.data_laws import SampleLaw, _KernelDensity


def _dense(law: SampleLaw, x: torch.Tensor) -> torch.Tensor:
    """log (1/n) Σ_j N(x; y_j, diag h²) (m, 1) over all pairs at once (the formula before chunking)."""
    y, h = torch.as_tensor(law.samples), torch.as_tensor(law.bandwidth)
    z = (x[:, None, :] - y[None, :, :]) / h
    log_kernel = -0.5 * (z * z).sum(-1) - 0.5 * law.dim * math.log(2 * math.pi) - torch.log(h).sum()
    return torch.logsumexp(log_kernel, dim=1, keepdim=True) - math.log(len(law.samples))


def _derivatives(f, x: torch.Tensor) -> list[torch.Tensor]:
    """f (m, 1), ∇f (m, d), ∇²f (m, d, d), ∇³f (m, d, d, d) at x (m, d) by nested autograd."""
    x = x.clone().requires_grad_(True)
    d = x.shape[1]
    value = f(x)
    grad = torch.autograd.grad(value.sum(), x, create_graph=True)[0]
    hess = torch.stack([torch.autograd.grad(grad[:, i].sum(), x, create_graph=True)[0] for i in range(d)], dim=1)
    third = torch.stack([torch.stack([torch.autograd.grad(hess[:, i, j].sum(), x, retain_graph=True)[0]
                                      for j in range(d)], dim=1) for i in range(d)], dim=1)
    return [value.detach(), grad.detach(), hess.detach(), third.detach()]


@pytest.mark.parametrize("d", [1, 2])
def test_kernel_density_and_three_derivatives_match_the_dense_formula(d, monkeypatch):
    monkeypatch.setattr(_KernelDensity, "CHUNK", 1000)  # several chunks of rows
    rng = np.random.default_rng(d)
    law = SampleLaw(rng.normal(size=(300, d)) * np.arange(1.0, d + 1) + 0.5)
    x = torch.as_tensor(rng.uniform(-6.0, 7.0, (50, d)))  # far tails included
    for k, (ours, dense) in enumerate(zip(_derivatives(law.log_density, x), _derivatives(lambda x: _dense(law, x), x),
                                          strict=True)):
        assert ours.shape == dense.shape
        scale = float(dense.abs().max())
        assert float((ours - dense).abs().max()) <= (1e-13, 1e-13, 1e-11, 1e-10)[k] * scale, k  # measured ≤ 7.4e-12


def test_repeated_points_are_cached_and_new_points_are_not():
    law = SampleLaw(np.random.default_rng(0).normal(size=(200, 2)))
    x = torch.as_tensor(np.random.default_rng(1).normal(size=(40, 2)))
    first = law.log_density(x)
    assert torch.equal(law.log_density(x.clone()), first)
    moved = x.clone()
    moved[3, 1] += 1e-9
    out = law.log_density(moved)
    assert not torch.equal(out, first) and torch.equal(out[:3], first[:3])
    assert torch.allclose(out, _dense(law, moved), rtol=1e-13, atol=0)


def test_a_fourth_derivative_is_refused():
    law = SampleLaw(np.random.default_rng(0).normal(size=(50, 1)))
    x = torch.zeros(3, 1, dtype=torch.float64, requires_grad=True)
    g = torch.autograd.grad(law.log_density(x).sum(), x, create_graph=True)[0]
    h = torch.autograd.grad(g.sum(), x, create_graph=True)[0]
    t = torch.autograd.grad(h.sum(), x, create_graph=True)[0]
    with pytest.raises(DataLawError, match="differentiable three times"):
        torch.autograd.grad(t.sum(), x)
