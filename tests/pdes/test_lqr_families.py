"""The LQR families (hjb.pdes.lqr): coefficients against their matrices, the sparse product against the dense one,
and a banded LQR's Riccati solution against its HJB residual."""
import numpy as np
import pytest
import torch

from hjb.pdes.lqr import SPARSE_MIN_DIM, banded_lqr, coupled_lqr, right_product
from hjb.validation.riccati import lqr_solution


@pytest.mark.parametrize("d", [5, SPARSE_MIN_DIM, 300])
def test_banded_lqr_coefficients_equal_their_dense_matrices(d):
    """f = Ax + Ba and r = −½(xᵀQx + aᵀRa) at random (x, a), by numpy on the dense matrices (the CSR path from
    SPARSE_MIN_DIM on); A stable and Q ≻ 0."""
    problem = banded_lqr(d)
    rng = np.random.default_rng(1)
    x, a = rng.normal(size=(7, d)), rng.normal(size=(7, 2))
    f = problem.drift(torch.as_tensor(x), torch.as_tensor(a)).numpy()
    r = problem.reward(torch.as_tensor(x), torch.as_tensor(a)).numpy()[:, 0]
    np.testing.assert_allclose(f, x @ problem.A.T + a @ problem.B.T, rtol=1e-12, atol=1e-12)
    expected = -0.5 * (np.einsum("ni,ij,nj->n", x, problem.Q, x) + np.einsum("ni,ij,nj->n", a, problem.R, a))
    np.testing.assert_allclose(r, expected, rtol=1e-12)
    assert np.linalg.eigvalsh(problem.Q).min() > 0.09 and np.linalg.eigvals(problem.A).real.max() < 0
    assert problem.D.shape == (d, 4) and problem.check_shapes() == 4


def test_sparse_right_product_has_the_dense_first_and_second_derivatives():
    """x ↦ x Mᵀ by CSR (a tridiagonal M of size 2·SPARSE_MIN_DIM) and its gradient and Hessian-vector product of
    |x Mᵀ|²/2 through autograd equal the dense ones: (MᵀM x) and (MᵀM v)."""
    d = 2 * SPARSE_MIN_DIM
    M = banded_lqr(d).A
    product = right_product(M)
    x = torch.as_tensor(np.random.default_rng(2).normal(size=(3, d))).requires_grad_(True)
    y = product(x)
    np.testing.assert_allclose(y.detach().numpy(), x.detach().numpy() @ M.T, rtol=1e-12, atol=1e-12)
    grad = torch.autograd.grad(0.5 * (y**2).sum(), x, create_graph=True)[0]
    np.testing.assert_allclose(grad.detach().numpy(), x.detach().numpy() @ (M.T @ M), rtol=1e-12, atol=1e-12)
    v = torch.ones(3, d, dtype=torch.float64)
    hv = torch.autograd.grad((grad * v).sum(), x)[0]
    np.testing.assert_allclose(hv.numpy(), v.numpy() @ (M.T @ M), rtol=1e-12, atol=1e-12)


def test_riccati_value_of_a_banded_lqr_zeroes_its_hjb_residual():
    """V = −½xᵀPx − c from the Riccati equation of banded_lqr(80) satisfies ρV = max_a {r + L^a V} at random
    points (the problem's own coefficients, the CSR path), in float64."""
    problem = banded_lqr(80)
    ref = lqr_solution(problem)
    x = np.random.default_rng(3).uniform(-1, 1, size=(20, 80))
    P = ref.P
    V, dV = ref.value(x), -(x @ P)
    xt = torch.as_tensor(x)
    a = problem.greedy_action(xt, torch.as_tensor(dV), None)
    generator = (dV * problem.drift(xt, a).numpy()).sum(1) - 0.5 * np.trace(problem.D.T @ P @ problem.D)
    residual = problem.discount * V - problem.reward(xt, a).numpy()[:, 0] - generator
    assert np.max(np.abs(residual)) < 1e-9 * np.max(np.abs(V))


def test_coupled_lqr_keeps_its_dense_path():
    """coupled_lqr's matrices are dense: its drift is x Aᵀ + a Bᵀ by the dense product, bit for bit."""
    problem = coupled_lqr(70)
    x, a = torch.ones(2, 70, dtype=torch.float64), torch.ones(2, 2, dtype=torch.float64)
    AT = torch.as_tensor(np.ascontiguousarray(problem.A.T))
    BT = torch.as_tensor(np.ascontiguousarray(problem.B.T))
    assert torch.equal(problem.drift(x, a), x @ AT + a @ BT)
