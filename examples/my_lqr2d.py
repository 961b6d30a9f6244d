"""Declare your own PDE: a 2-D LQR written with plain torch functions (run: hjb solve examples/my_lqr2d.py).

dX = (AX + Ba) dt + D dW,  r(x, a) = −½(xᵀQx + aᵀRa),  ρ = 0.1,  x ∈ [−2, 2]².
"""
import torch

from hjb import ControlProblem, SolverSettings
from hjb.geometry import Box

A = torch.tensor([[-0.4, 0.3], [0.2, -0.6]], dtype=torch.float64)
B = torch.tensor([[1.0, 0.0], [0.5, 1.0]], dtype=torch.float64)
Q = torch.tensor([[1.0, 0.2], [0.2, 0.5]], dtype=torch.float64)
R = torch.tensor([[0.2, 0.0], [0.0, 0.3]], dtype=torch.float64)
D = torch.tensor([[0.3, 0.0], [0.1, 0.2]], dtype=torch.float64)


def drift(x, a):  # (n, 2), (n, 2) -> (n, 2)
    return x @ A.T + a @ B.T


def diffusion(x, a):  # -> (n, 2, 2)
    return D.expand(x.shape[0], 2, 2)


def reward(x, a):  # -> (n, 1)
    return -0.5 * (((x @ Q) * x).sum(1, keepdim=True) + ((a @ R) * a).sum(1, keepdim=True))


def greedy_action(x, dV, d2V):  # argmax_a {r + L^a V} = R⁻¹Bᵀ∇V, (n, 2)
    return torch.linalg.solve(R, B.T @ dV.T).T


problem = ControlProblem(
    name="my_lqr2d",
    drift=drift,
    diffusion=diffusion,
    reward=reward,
    discount=0.1,
    domain=Box([-2.0, -2.0], [2.0, 2.0]),
    action_dim=2,
    greedy_action=greedy_action,
)

settings = SolverSettings(seed=0)
