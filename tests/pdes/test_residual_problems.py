"""The built-in residual PDEs (Black–Scholes call, product-form heat) against their closed forms in
hjb.validation: the exact solutions zero the residuals and satisfy the conditions in float64."""
import math

import numpy as np
import pytest
import torch

from hjb.pdes.black_scholes import black_scholes_call, heat_kernel_payoff
from hjb.pdes.conditions import Terminal, condition_points
from hjb.pdes.derivatives import Derivatives
from hjb.pdes.heat import heat_product
from hjb.validation.black_scholes import call_delta, call_price, put_delta, put_price
from hjb.validation.heat import heat_product_solution

K, R, SIGMA, T = 1.0, 0.05, 0.2, 1.0


def _torch_call(z):
    """The Black–Scholes call (n, 1) at points z (n, 2) = (S, t), in torch (for autograd)."""
    S, tau = z[:, :1], T - z[:, 1:]
    d1 = (torch.log(S / K) + (R + 0.5 * SIGMA**2) * tau) / (SIGMA * torch.sqrt(tau))
    d2 = d1 - SIGMA * torch.sqrt(tau)
    return S * torch.special.ndtr(d1) - K * torch.exp(-R * tau) * torch.special.ndtr(d2)


def test_the_textbook_values_parity_and_delta():
    """Hull's example (S = K = 100, r = 5%, σ = 20%, T = 1): call 10.4506, put 5.5735; Δ is the price's slope."""
    assert call_price(100.0, 1.0, 100.0, 0.05, 0.2) == pytest.approx(10.4506, abs=1e-4)
    assert put_price(100.0, 1.0, 100.0, 0.05, 0.2) == pytest.approx(5.5735, abs=1e-4)
    S, h = np.linspace(0.6, 1.6, 11), 1e-5
    slope = (call_price(S + h, 0.7, K, R, SIGMA) - call_price(S - h, 0.7, K, R, SIGMA)) / (2 * h)
    assert np.allclose(call_delta(S, 0.7, K, R, SIGMA), slope, atol=1e-8)
    assert np.allclose(put_delta(S, 0.7, K, R, SIGMA), slope - 1.0, atol=1e-8)


def test_the_black_scholes_price_zeroes_the_residual_and_meets_the_conditions():
    pde = black_scholes_call(K, R, SIGMA, T, s_max=3.0)
    z = torch.tensor([[s, t] for s in (0.3, 0.8, 1.0, 1.7, 2.9) for t in (0.0, 0.4, 0.9)], dtype=torch.float64)
    z.requires_grad_(True)
    assert torch.max(torch.abs(pde.residual_at(z, _torch_call(z)))) < 1e-12
    assert np.allclose(_torch_call(z).detach().numpy()[:, 0], call_price(z[:, 0].detach().numpy(),
                                                                         T - z[:, 1].detach().numpy(), K, R, SIGMA))
    zero, linear = (condition_points(c, pde.domain, set(), 64, seed=2) for c in pde.conditions)
    assert np.max(np.abs(call_price(zero[:, 0], T - zero[:, 1], K, R, SIGMA))) < 1e-300
    assert np.max(np.abs(call_delta(linear[:, 0], T - linear[:, 1], K, R, SIGMA) - 1.0)) < 1e-8


@pytest.mark.parametrize("call", [True, False])
def test_the_heat_kernel_payoff_is_the_payoff_at_maturity_and_carries_the_kink_by_the_heat_equation(call):
    """B(S, 0) = the payoff (to 1e-15), ∂_τB = ½ς²∂_SS B for τ > 0, and B's curvature integrates to the kink's unit jump
    of slope."""
    S = torch.linspace(0.0, 3.0, 3001, dtype=torch.float64).reshape(-1, 1)
    payoff = torch.clamp(S - K if call else K - S, min=0.0)
    assert torch.max(torch.abs(heat_kernel_payoff(S, torch.zeros_like(S), K, 0.2, call) - payoff)) < 1e-15
    x = torch.cat([S, torch.full_like(S, 0.3)], dim=1).requires_grad_(True)
    B = heat_kernel_payoff(x[:, :1], x[:, 1:], K, 0.2, call)
    D = Derivatives(x, B, time=True)
    assert torch.max(torch.abs(D.dt() - 0.5 * 0.2**2 * D.dxx(0))) < 1e-12
    assert float(torch.trapezoid(D.dxx(0)[:, 0].detach(), S[:, 0])) == pytest.approx(1.0, abs=1e-9)


def test_the_call_builds_its_payoff_in_exactly():
    """u(S, T) = max(S − K, 0) whatever the network's output, and u is finite (with its derivatives) at t = T."""
    pde = black_scholes_call(K, R, SIGMA, T, s_max=3.0)
    S = torch.linspace(0.0, 3.0, 301, dtype=torch.float64).reshape(-1, 1)
    x = torch.cat([S, torch.full_like(S, T)], dim=1).requires_grad_(True)
    u = pde.output_transform(x, torch.randn(len(S), 1, dtype=torch.float64, generator=torch.Generator().manual_seed(0)))
    assert torch.max(torch.abs(u - torch.clamp(S - K, min=0.0))) < 1e-15
    assert bool(torch.isfinite(pde.residual_at(x, u)).all())
    assert not any(isinstance(c, Terminal) for c in pde.conditions)


def test_the_heat_solution_zeroes_the_residual_and_the_transform_builds_in_the_conditions():
    pde, d, k = heat_product(5, 0.2, 0.1), 5, 0.2
    z = torch.as_tensor(pde.domain.sample(128, "uniform", seed=4)).requires_grad_(True)
    exact = torch.prod(torch.sin(math.pi * z[:, :d]), 1, keepdim=True) * torch.exp(-k * d * math.pi**2 * z[:, d:])
    assert torch.max(torch.abs(pde.residual_at(z, exact))) < 1e-12
    assert np.allclose(exact.detach().numpy()[:, 0], heat_product_solution(z.detach().numpy(), d, k), atol=1e-15)
    y = torch.randn(len(z), 1, dtype=torch.float64)  # any network output
    start, face = z.detach().clone(), z.detach().clone()
    start[:, d], face[:, 2] = 0.0, 1.0
    assert torch.allclose(pde.output_transform(start, y)[:, 0], torch.as_tensor(heat_product_solution(start.numpy(), d, k)))
    assert torch.max(torch.abs(pde.output_transform(face, y))) < 1e-15
