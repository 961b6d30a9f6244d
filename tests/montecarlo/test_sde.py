"""The SDE integrator's noise increment ΣΔW (hjb.montecarlo.sde.noise_increment) against the per-point product."""
import pytest
import torch

from hjb.montecarlo.sde import noise_increment


@pytest.mark.parametrize("d, k", [(1, 1), (2, 2), (3, 1), (5, 7), (40, 40)])
def test_noise_increment_equals_the_per_point_product_for_broadcast_and_general_sigma(d, k):
    """ΣΔW (n, d) of a Σ broadcast from one matrix (stride 0, one matrix product) and of a Σ that varies per point
    equal Σ_i ΔW_i point by point (float64); up to 3-D bit for bit, above to rounding."""
    g = torch.Generator().manual_seed(d * 100 + k)
    n = 64
    dW = torch.randn(n, k, generator=g, dtype=torch.float64)
    for sigma in (torch.randn(d, k, generator=g, dtype=torch.float64).expand(n, d, k),
                  torch.randn(n, d, k, generator=g, dtype=torch.float64)):
        expected = torch.stack([sigma[i] @ dW[i] for i in range(n)])
        got = noise_increment(sigma, dW)
        assert got.shape == (n, d)
        if d <= 3:
            assert torch.equal(got, expected)
        else:
            torch.testing.assert_close(got, expected, rtol=1e-13, atol=1e-13)
