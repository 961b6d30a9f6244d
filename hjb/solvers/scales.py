"""The size of V: the (offset, scale) and, on log boxes, the power-law profile m(x) that set the value network's
output V = offset + scale · m(x) · N_θ, and the local size errors are measured against."""
from __future__ import annotations

import numpy as np
import torch

from hjb.nn.value_network import ValueNetwork
from hjb.pdes.problem import ControlProblem

FLOOR = 1e-12  # relative to max |r|/ρ: keeps log |r| finite where the first policy's reward vanishes


def spread(values: np.ndarray) -> tuple[float, float]:
    """(mean, spread) of values (n,): spread = max(std, 1e-3·|mean|, 1e-12), (0, 1) when none is finite."""
    values = values[np.isfinite(values)]
    if values.size == 0:
        return 0.0, 1.0
    mean = float(np.mean(values))
    return mean, max(float(np.std(values)), 1e-3 * abs(mean), 1e-12)


def root_mean_square(values: np.ndarray) -> float:
    """rms of the finite values (n,), at least 1e-12; 1 when none is finite."""
    values = values[np.isfinite(values)]
    return max(float(np.sqrt(np.mean(values**2))), 1e-12) if values.size else 1.0


def discounted_reward(problem: ControlProblem, policy, x: np.ndarray) -> np.ndarray:
    """r(x, α(x))/ρ (n,) at x (n, d): the value of holding x and α(x) forever."""
    xt = torch.as_tensor(x, dtype=torch.float64)
    with torch.no_grad():
        return problem.reward(xt, policy(xt))[:, 0].numpy() / problem.discount


def power_profile(problem: ControlProblem, policy, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(b (d,), c (d,)): the least-squares fit log |r(x, α(x))/ρ| ≈ a + Σ_j b_j (log x_j − log c_j) over x (n, d) on a
    log box, c the box's geometric centre. V's size follows the reward's when the state moves slowly against the
    discount, and exactly for homothetic problems (Merton: r and V* both ∝ x^{1−γ})."""
    box = problem.domain
    centre = np.sqrt(box.lo * box.hi)
    magnitude = np.abs(discounted_reward(problem, policy, x))
    finite = np.isfinite(magnitude)
    if not finite.any():
        return np.zeros(box.dim), centre
    log_r = np.log(np.maximum(magnitude[finite], FLOOR * magnitude[finite].max() + 1e-300))
    design = np.column_stack([np.ones(finite.sum()), np.log(x[finite]) - np.log(centre)])
    coefficients = np.linalg.lstsq(design, log_r, rcond=None)[0]
    return coefficients[1:], centre


def reward_scale(problem: ControlProblem, policy, x: np.ndarray, critic: ValueNetwork | None = None
                 ) -> tuple[float, float]:
    """(offset, scale) for the size V is expected to have, from r(x, α_0(x))/ρ over x (n, d): its spread, or with a
    profiled critic (0, rms(r/(ρ m))), V's size relative to m."""
    values = discounted_reward(problem, policy, x)
    if critic is None or not critic.profiled:
        return spread(values)
    return 0.0, root_mean_square(values / critic.profile(torch.as_tensor(x)).numpy())


def value_size(critic: ValueNetwork, x: np.ndarray) -> tuple[float, float]:
    """(offset, scale) that follow V_θ's size over x (n, d): the spread of V, or with a profile (the offset kept,
    rms((V − offset)/m))."""
    xt = torch.as_tensor(x, dtype=torch.float64)
    values = critic.value(xt).numpy()
    if not critic.profiled:
        return spread(values)
    offset = float(critic.net.v_offset.detach())
    return offset, root_mean_square((values - offset) / critic.profile(xt).numpy())


def local_size(critic: ValueNetwork, x: np.ndarray, values: np.ndarray) -> np.ndarray | float:
    """The size V's errors at x (n, d) are measured against, V = values (n,) there: the spread of V (a number), or
    with a profile m(x)·rms(V/m) (n,)."""
    if not critic.profiled:
        return spread(values)[1]
    m = critic.profile(torch.as_tensor(x, dtype=torch.float64)).numpy()
    return m * root_mean_square(values / m)
