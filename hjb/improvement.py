"""Policy improvement by actor ascent: max_φ mean_x Q_k(x, α_φ(x)), Q_k = (r + L^a V_k)/ρ, ∇V_k and ∇²V_k frozen."""
from __future__ import annotations

import numpy as np
import torch

from hjb.critic import Critic
from hjb.pdes.problem import ControlProblem
from hjb.pdes.residuals import hamiltonian
from hjb.policies import ActorPolicy


def actor_ascent(
    problem: ControlProblem,
    critic: Critic,
    actor: ActorPolicy,
    points: np.ndarray,
    *,
    steps: int,
    learning_rate: float,
) -> float:
    """Adam ascent of the actor on Q_k over the points (n, d); returns the final mean Q·ρ/scale."""
    x = torch.as_tensor(points, dtype=torch.float64)
    _, dV, d2V = critic.derivatives(x)
    norm = problem.discount * critic.scale
    optimizer = torch.optim.Adam(actor.net.parameters(), lr=learning_rate)
    objective = float("nan")
    for _ in range(steps):
        optimizer.zero_grad()
        q = hamiltonian(problem, x, actor.action(x), dV, d2V) / norm
        loss = -q.mean()
        loss.backward()
        optimizer.step()
        objective = -float(loss.detach())
    return objective
