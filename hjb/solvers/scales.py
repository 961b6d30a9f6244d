"""The size of V: the (mean, spread) that set the value network's output offset and scale."""
from __future__ import annotations

import numpy as np
import torch

from hjb.pdes.problem import ControlProblem


def spread(values: np.ndarray) -> tuple[float, float]:
    """(mean, spread) of values (n,): spread = max(std, 1e-3·|mean|, 1e-12), (0, 1) when none is finite."""
    values = values[np.isfinite(values)]
    if values.size == 0:
        return 0.0, 1.0
    mean = float(np.mean(values))
    return mean, max(float(np.std(values)), 1e-3 * abs(mean), 1e-12)


def reward_scale(problem: ControlProblem, policy, x: np.ndarray) -> tuple[float, float]:
    """(offset, scale) = spread of r(x, α_0(x))/ρ over x (n, d): the size V is expected to have."""
    xt = torch.as_tensor(x, dtype=torch.float64)
    with torch.no_grad():
        return spread(problem.reward(xt, policy(xt))[:, 0].numpy() / problem.discount)
