"""Closed-loop rollouts for `hjb simulate`: N paths X (N, S+1, d) of a policy a = α(x, t) through a stepper on a time
grid t_0 < … < t_S, and each path's cumulative discounted reward C_k = ∫_{t_0}^{t_k} e^{−ρ(s−t_0)} r(X_s, a_s) ds by the
left-point rule (plus e^{−ρ(T−t_0)} g(X_T) at the end where a terminal reward g is given).

The rollout sees the dynamics only through a stepper (x (n, d), a (n, m), dt, rng) -> (x' (n, d), r (n,)), the state
after dt under the action held over it and the reward rate r (the step earns r·dt), so that model-based runs
(ProblemStepper: hjb.montecarlo.sde's Euler–Maruyama step of a ControlProblem or FiniteHorizonProblem) and
model-free ones (environment_stepper: an hjb.learning Environment's step) roll out alike. Two rollouts with one seed
draw the same noise when their steppers draw alike (common random numbers: a learned policy beside the optimal one).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from hjb.errors import ProblemError, ShapeError
from hjb.montecarlo.boundary import Faces
from hjb.montecarlo.sde import em_step, noise_increment
from hjb.pdes.finite_horizon import FiniteHorizonProblem

Policy = Callable[[np.ndarray, float], np.ndarray]  # (x (n, d), t) -> a (n, m)
Stepper = Callable[[np.ndarray, np.ndarray, float, np.random.Generator], tuple[np.ndarray, np.ndarray]]
Terminal = Callable[[np.ndarray], np.ndarray]  # x (n, d) -> g (n,)


@dataclass(frozen=True)
class Rollout:
    """times (S+1,), paths (N, S+1, d), actions (N, S, m) (a_k held over [t_k, t_{k+1})), cumulative (N, S+1)."""

    times: np.ndarray
    paths: np.ndarray
    actions: np.ndarray
    cumulative: np.ndarray

    @property
    def final(self) -> np.ndarray:
        """Each path's total discounted reward C_S (N,)."""
        return self.cumulative[:, -1]

    def mean(self) -> float:
        """Mean of C_S over the paths."""
        return float(self.final.mean())

    def stderr(self) -> float:
        """Its standard error std(C_S)/√N (ddof 1; 0 for one path)."""
        n = len(self.final)
        return float(self.final.std(ddof=1) / math.sqrt(n)) if n > 1 else 0.0


def stationary(fn: Callable[[np.ndarray], np.ndarray]) -> Policy:
    """The Policy (x, t) ↦ fn(x) of a time-free policy x (n, d) -> a (n, m)."""
    return lambda x, t: fn(x)


def time_grid(horizon: float, dt: float, t0: float = 0.0) -> np.ndarray:
    """t_0 + [0, h, …, T] (S+1,) with S = ⌈T/dt⌉ equal steps h = T/S ≤ dt, so that the grid ends at T exactly."""
    steps = max(1, math.ceil(horizon / dt - 1e-9))
    return t0 + np.linspace(0.0, horizon, steps + 1)


def rollout(policy: Policy, stepper: Stepper, x0: np.ndarray, times: np.ndarray, *, paths: int, discount: float,
            seed: int, terminal: Terminal | None = None) -> Rollout:
    """`paths` closed-loop paths from x0 (d,) over `times` (S+1,): a_k = policy(X_k, t_k), (X_{k+1}, r_k) =
    stepper(X_k, a_k, t_{k+1} − t_k, rng) with rng = numpy default_rng(seed), C_{k+1} = C_k + e^{−ρ(t_k − t_0)} r_k
    (t_{k+1} − t_k); C_S += e^{−ρ(t_S − t_0)} g(X_S) given terminal g. ShapeError for a wrong shape, ProblemError
    once a state, an action or a reward is NaN/inf (the closed loop diverged)."""
    x0 = np.asarray(x0, dtype=float).reshape(-1)
    rng = np.random.default_rng(seed)
    x = np.tile(x0, (paths, 1))
    states, actions, cumulative = [x], [], np.zeros((paths, len(times)))
    for k in range(len(times) - 1):
        t, dt = float(times[k]), float(times[k + 1] - times[k])
        a = np.asarray(policy(x, t), dtype=float)
        if a.ndim != 2 or len(a) != paths:
            raise ShapeError(f"the policy returned shape {a.shape}; expected ({paths}, m)")
        x, reward = stepper(x, a, dt, rng)
        x, reward = np.asarray(x, dtype=float), np.asarray(reward, dtype=float).reshape(-1)
        if x.shape != (paths, len(x0)) or reward.shape != (paths,):
            raise ShapeError(f"the stepper returned x' {x.shape} and r {reward.shape}; expected ({paths}, "
                             f"{len(x0)}) and ({paths},)")
        _check_finite(t, a, x, reward)
        cumulative[:, k + 1] = cumulative[:, k] + math.exp(-discount * (t - times[0])) * reward * dt
        states.append(x)
        actions.append(a)
    if terminal is not None:
        g = np.asarray(terminal(x), dtype=float).reshape(-1)
        _check_finite(float(times[-1]), g)
        cumulative[:, -1] += math.exp(-discount * (times[-1] - times[0])) * g
    return Rollout(times=np.asarray(times, dtype=float), paths=np.stack(states, axis=1),
                   actions=np.stack(actions, axis=1), cumulative=cumulative)


def _check_finite(t: float, *arrays: np.ndarray) -> None:
    """ProblemError naming t and the number of paths when any of the arrays (n, …) holds NaN/inf."""
    bad = np.zeros(len(arrays[0]), dtype=bool)
    for array in arrays:
        bad |= ~np.isfinite(array.reshape(len(array), -1)).all(axis=1)
    if bad.any():
        raise ProblemError(f"the closed loop diverged at t = {t:.6g}: {int(bad.sum())} paths reached NaN/inf; "
                           "expected finite states, actions and rewards (try a smaller --dt)")


class ProblemStepper:
    """The Stepper of a ControlProblem or FiniteHorizonProblem (time-dependent: called with t, its own clock from t0
    advanced by dt per call, so one stepper per rollout): one Euler–Maruyama step x' = em_step(x, f, ΣΔW, dt) with
    ΔW ~ N(0, dt I_k) from rng (in log x on log boxes), r = r(x, a[, t]); at the box's faces as problem.boundary says:
    "none" lets paths leave, "reflect" mirrors them back (hjb.montecarlo.boundary.Faces), "exit" stops a path whose
    step ends outside at that end clipped onto the box, its step's rate then r + g(x')/dt (the boundary reward
    collected at the step's start), and 0 from then on (exits between the steps are not seen: the exit time is late
    by O(√dt))."""

    def __init__(self, problem, t0: float = 0.0):
        self.problem, self.t = problem, float(t0)
        self.timed = isinstance(problem, FiniteHorizonProblem)  # f, Σ, r take t
        box = problem.domain.box if self.timed else problem.domain
        self.log = box.scale == "log"
        self.faces = Faces(box, getattr(problem, "boundary", "none"))
        self.stopped: np.ndarray | None = None

    def __call__(self, x: np.ndarray, a: np.ndarray, dt: float, rng: np.random.Generator
                 ) -> tuple[np.ndarray, np.ndarray]:
        p = self.problem
        xt, at = torch.as_tensor(x, dtype=torch.float64), torch.as_tensor(a, dtype=torch.float64)
        args = (xt, at, torch.full((len(x), 1), self.t, dtype=torch.float64)) if self.timed else (xt, at)
        with torch.no_grad():
            sigma = p.diffusion(*args)
            dW = torch.as_tensor(rng.standard_normal((len(x), sigma.shape[2])) * math.sqrt(dt))
            variance = (sigma * sigma).sum(-1) if self.log else None
            moved = em_step(xt, p.drift(*args), noise_increment(sigma, dW), dt, variance)
            reward = p.reward(*args)[:, 0]
            if self.faces.behaviour == "reflect":
                moved = self.faces.reflect(moved)
            elif self.faces.behaviour == "exit":
                moved, reward = self._exit(xt, moved, reward, dt)
        self.t += dt
        return moved.numpy(), reward.numpy()

    def _exit(self, x: torch.Tensor, moved: torch.Tensor, reward: torch.Tensor, dt: float
              ) -> tuple[torch.Tensor, torch.Tensor]:
        """Stopped paths stay put and earn 0; paths whose step ends outside stop on the box with r + g(x')/dt."""
        stopped = torch.zeros(len(x), dtype=torch.bool) if self.stopped is None else torch.as_tensor(self.stopped)
        clipped = self.faces.clip(moved)
        leaving = (clipped != moved).any(dim=-1) & ~stopped
        reward = torch.where(stopped, torch.zeros_like(reward), reward)
        if leaving.any():
            reward[leaving] += self.problem.boundary_reward(clipped[leaving])[:, 0] / dt
        moved = torch.where(stopped.unsqueeze(-1), x, clipped)
        self.stopped = (stopped | leaving).numpy()
        return moved, reward


def environment_stepper(env) -> Stepper:
    """The Stepper of a model-free environment (hjb.learning.environment.Environment: step(x, a, rng) -> (x', r) over
    its own env.dt); roll it out on a grid of step env.dt with discount env.discount (ProblemError for another dt)."""
    def step(x: np.ndarray, a: np.ndarray, dt: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        if not math.isclose(dt, env.dt, rel_tol=1e-9):
            raise ProblemError(f"environment {env.name!r} steps by dt = {env.dt:g}; got a grid step {dt:g}")
        return env.step(x, a, rng)

    return step
