"""The actor's objective Q_k(x, a) = r + L^a V_k (hjb.solvers.improvement.frozen_q) against the full-Hessian form."""
import numpy as np
import pytest
import torch

from hjb.geometry import Box
from hjb.nn.value_network import ValueNetwork
from hjb.pdes.problem import ControlProblem
from hjb.pdes.residuals import hamiltonian
from hjb.solvers.improvement import frozen_q
from hjb.solvers.policies import ActorPolicy

D = 5


def _problem(action_dependent: bool) -> ControlProblem:
    """5-D, 2 actions, 3 noise columns; Σ = S (constant) or S·(1 + a₀²) (depends on the action)."""
    rng = np.random.default_rng(0)
    A, B, S = (torch.as_tensor(rng.normal(size=shape)) for shape in ((D, D), (D, 2), (D, 3)))

    def diffusion(x, a):
        factor = (1 + a[:, :1] ** 2)[:, :, None] if action_dependent else torch.ones(x.shape[0], 1, 1, dtype=x.dtype)
        return S.expand(x.shape[0], D, 3) * factor

    return ControlProblem(name="five", drift=lambda x, a: x @ A.T + a @ B.T, diffusion=diffusion,
                          reward=lambda x, a: -(x**2).sum(-1, keepdim=True) - (a**2).sum(-1, keepdim=True),
                          discount=0.5, domain=Box([-1.0] * D, [1.0] * D), action_dim=2)


@pytest.mark.parametrize("action_dependent", [False, True])
def test_frozen_q_and_its_actor_gradient_equal_the_full_hessian_form(action_dependent, monkeypatch):
    """Q at the actor's action and ∂(mean Q)/∂φ equal r + ∇V·f + ½Tr(ΣΣᵀ∇²V) with the full Hessian (float64, random
    critic and actor); with Σ independent of a no (n, d, d) Hessian is formed."""
    torch.manual_seed(1)
    problem = _problem(action_dependent)
    critic = ValueNetwork(problem.domain, 16, 2)
    actor = ActorPolicy(problem, 8, 2, critic)
    x = torch.as_tensor(problem.domain.sample(40, "uniform", seed=2))
    _, dV, d2V = critic.derivatives(x)
    expected = hamiltonian(problem, x, actor.action(x), dV, d2V)
    expected_grad = torch.autograd.grad(expected.mean(), list(actor.net.parameters()))
    if not action_dependent:
        monkeypatch.setattr(critic, "derivatives", lambda *a, **k: pytest.fail("full Hessian formed"))
    q = frozen_q(problem, critic, x, actor)
    got = q(actor.action(x))
    got_grad = torch.autograd.grad(got.mean(), list(actor.net.parameters()))
    torch.testing.assert_close(got, expected.detach(), rtol=1e-11, atol=1e-11)
    for g, e in zip(got_grad, expected_grad, strict=True):
        torch.testing.assert_close(g, e, rtol=1e-10, atol=1e-12)
