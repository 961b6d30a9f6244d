"""States the controlled process visits: closed-loop Euler–Maruyama rollouts from a problem's initial law, the
collocation points of high-dimensional problems, where a box's volume lies far from where the process lives (in
100-D, uniform points of [−h, h]^d have |x| ≈ h√(d/3), paths from 0 reach |x| ≈ √(2dT))."""
from __future__ import annotations

import numpy as np
import torch

from hjb.errors import ProblemError, ShapeError
from hjb.montecarlo.sde import em_step, noise_increment

ROLLOUT_STEPS = 50  # Euler steps over [0, T] per path; each path records one state per step


def rollout_paths(collocation: int) -> int:
    """Paths per rollout pool: 4·collocation paths of ROLLOUT_STEPS recorded states each, 200 fresh batches."""
    return 4 * collocation


def initial_states(problem, n: int, rng: np.random.Generator) -> np.ndarray:
    """n draws (n, d) of the problem's initial_law(n, rng), checked for shape and finiteness."""
    x0 = problem.initial_law(n, rng)
    x0 = x0.detach().cpu().numpy() if isinstance(x0, torch.Tensor) else np.asarray(x0, dtype=float)
    if x0.shape != (n, problem.state_dim):
        raise ShapeError(f"initial_law returned shape {x0.shape}; expected {(n, problem.state_dim)}")
    if not np.all(np.isfinite(x0)):
        raise ProblemError(f"initial_law of problem {problem.name!r} returned NaN/inf")
    return x0.astype(np.float64)


def visited_space_time(problem, policy, paths: int, rng: np.random.Generator, steps: int = ROLLOUT_STEPS
                       ) -> np.ndarray:
    """Space-time points (paths·steps, d + 1), time last, of a finite-horizon problem's closed-loop process under
    policy(xt) (n, m): X_0 from the initial law, Euler–Maruyama on [0, T] with each path's own random phase
    (times (j + u)·T/steps, u ~ U(0, 1) per path, so the recorded times cover [0, T] continuously), one state per
    step; rows with NaN/inf are dropped."""
    dt = problem.horizon / steps
    x = torch.as_tensor(initial_states(problem, paths, rng))
    phase = torch.as_tensor(rng.uniform(size=(paths, 1)))
    generator = torch.Generator().manual_seed(int(rng.integers(2**62)))
    recorded = []
    t = torch.zeros(paths, 1, dtype=torch.float64)
    for j in range(steps):
        step = (phase if j == 0 else torch.ones_like(phase)) * dt  # the first step reaches the path's phase
        x, t = closed_loop_step(problem, policy, x, t, step, generator)
        recorded.append(torch.cat([x, t], dim=1))
    points = torch.cat(recorded).numpy()
    return points[np.isfinite(points).all(axis=1)]


def visited_states(problem, policy, paths: int, rng: np.random.Generator, steps: int = ROLLOUT_STEPS) -> np.ndarray:
    """States (paths·steps, d) of a discounted problem's closed-loop process under policy(x) (n, m): X_0 from its
    initial law, clipped into the box, Euler–Maruyama over [0, 1/ρ] (the discount's time scale) with each path's own
    random phase, one state per step, each clipped into the box (where V is learnt and the Feynman–Kac paths are
    read; on a log box the step is taken in log x); rows with NaN/inf are dropped."""
    box = problem.domain
    lo, hi = (torch.as_tensor(b, dtype=torch.float64) for b in (box.lo, box.hi))

    def clip(x: torch.Tensor) -> torch.Tensor:
        return torch.maximum(torch.minimum(x, hi), lo)

    dt = 1.0 / (problem.discount * steps)
    x = clip(torch.as_tensor(initial_states(problem, paths, rng)))
    phase = torch.as_tensor(rng.uniform(size=(paths, 1)))
    generator = torch.Generator().manual_seed(int(rng.integers(2**62)))
    recorded = []
    for j in range(steps):
        step = (phase if j == 0 else torch.ones_like(phase)) * dt
        with torch.no_grad():
            a = policy(x).detach()
            sigma = problem.diffusion(x, a)
            dW = torch.randn(paths, sigma.shape[2], generator=generator, dtype=x.dtype) * torch.sqrt(step)
            variance = (sigma * sigma).sum(-1) if box.scale == "log" else None
            x = clip(em_step(x, problem.drift(x, a), noise_increment(sigma, dW), step, variance))
        recorded.append(x)
    points = torch.cat(recorded).numpy()
    return points[np.isfinite(points).all(axis=1)]


@torch.no_grad()
def closed_loop_step(problem, policy, x: torch.Tensor, t: torch.Tensor, step: torch.Tensor, generator: torch.Generator
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """One Euler–Maruyama step of per-path length step (n, 1) under the closed loop a = policy([x, t])."""
    with torch.enable_grad():
        a = policy(torch.cat([x, t], dim=1)).detach()
    sigma = problem.diffusion(x, a, t)
    dW = torch.randn(x.shape[0], sigma.shape[2], generator=generator, dtype=x.dtype) * torch.sqrt(step)
    noise = noise_increment(sigma, dW)
    return em_step(x, problem.drift(x, a, t), noise, step), t + step
