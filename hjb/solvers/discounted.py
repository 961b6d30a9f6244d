"""Discounted infinite-horizon problems, ρV = max_a {r + L^a V} on a box, in the one policy-iteration loop:
evaluation by PINN with Feynman–Kac anchors (hjb.solvers.anchored_evaluation), improvement by the problem's
closed-form argmax or by an actor ascending Q."""
from __future__ import annotations

import copy
import math

import numpy as np
import torch

from hjb.errors import ProblemError
from hjb.geometry.sampling import residual_weighted_pick
from hjb.montecarlo.rollouts import ROLLOUT_STEPS, rollout_paths, visited_states
from hjb.nn.value_network import ValueNetwork
from hjb.pdes.problem import ControlProblem
from hjb.progress import Progress
from hjb.settings import SolverSettings
from hjb.solvers.admissibility import check_start
from hjb.solvers.anchored_evaluation import Carry, evaluate_anchored
from hjb.solvers.boundary import boundary_misfit, boundary_points
from hjb.solvers.improvement import actor_ascent
from hjb.solvers.iteration import policy_iteration, seed_everything
from hjb.solvers.policies import ActorPolicy, GreedyPolicy, InitialPolicy
from hjb.solvers.scales import (
    discounted_reward,
    local_size,
    power_profile,
    reward_scale,
    spread,
    value_size,
)
from hjb.solvers.solution import Solution
from hjb.solvers.stopping import done, status


def solve(
    problem: ControlProblem, settings: SolverSettings | None = None, progress: Progress | bool = True
) -> Solution:
    """Solve ρV = max_a {r + L^a V} on the problem's box by policy iteration; never sees a closed form.

    Refuses a start with non-finite coefficients or a singular reward (ProblemError) before training.
    Raises TrainingDivergedError (with .last_finite, a Solution at the last finite weights) on NaN/inf.
    """
    s = settings or SolverSettings()
    if not isinstance(progress, Progress):
        progress = Progress(s.max_iterations, enabled=bool(progress), label=problem.name)
    scheme = DiscountedScheme(problem, s, progress)
    return policy_iteration(scheme, s.max_iterations, s.min_iterations, progress)


class DiscountedScheme:
    """The discounted problem's evaluation (anchored PINN), improvement (greedy or actor), measures (HJB residual
    relative to ρ·V's size on the probe set, changes of V and α) and stopping rule (hjb.solvers.stopping)."""

    def __init__(self, problem: ControlProblem, s: SolverSettings, progress: Progress):
        self.noise_dim = problem.check_shapes()
        self.use_actor = s.improvement == "actor" or (s.improvement == "auto" and problem.greedy_action is None)
        if s.improvement == "greedy" and problem.greedy_action is None:
            raise ProblemError(f"improvement='greedy' needs problem {problem.name!r} to declare greedy_action")
        self.problem, self.s, self.progress = problem, s, progress
        seed_everything(s.seed)
        box = problem.domain
        self.rollouts = problem.initial_law is not None
        if self.rollouts:  # collocation, anchors and probe: states of α_0's rollouts (the fresh batches follow each α_k)
            self.rng = np.random.default_rng(s.seed + 3)
            start = InitialPolicy(problem)
            pool = visited_states(problem, start, rollout_paths(s.collocation), self.rng)
            picks = self.rng.permutation(len(pool))
            self.collocation, self.anchor_x = pool[picks[: s.collocation]], pool[picks[-s.anchors:]]
            probe = visited_states(problem, start, -(-s.probe_points // ROLLOUT_STEPS), self.rng)
            self.probe = probe[self.rng.permutation(len(probe))[: s.probe_points]]
        else:
            self.collocation = box.sample(s.collocation, s.sampling, seed=s.seed)
            self.anchor_x = box.spread_points(s.anchors, seed=s.seed + 1)
            self.probe = box.sample(s.probe_points, "sobol", seed=s.seed + 2)
        check_start(problem, np.concatenate([self.collocation, self.probe]))
        self.edge_probe = boundary_points(problem, s.probe_points, seed=s.seed + 4)  # for the boundary's misfit
        self.critic = ValueNetwork(box, s.width, s.depth)
        self.actor = ActorPolicy(problem, s.actor_width, s.actor_depth, self.critic) if self.use_actor else None
        self.previous, self.carry = None, Carry()
        self.fresh = fresh_box_points(box, s) if box.dim >= FRESH_POINTS_MIN_DIM else None

    def initial_policy(self) -> InitialPolicy:
        """α_0: the problem's initial policy; V's output scale (and on a log box its profile) starts from r(x, α_0)/ρ."""
        policy = InitialPolicy(self.problem)
        if self.s.output_profile == "auto" and self.problem.domain.scale == "log":
            self.critic.set_profile(*power_profile(self.problem, policy, self.collocation))
        self.critic.set_output_scale(*self._start_scale(policy))
        return policy

    def _start_scale(self, policy) -> tuple[float, float]:
        """V's expected (offset, scale): from r(x, α_0)/ρ, and where the process exits, from g on the faces as much
        (V runs from g at the faces to about r/ρ inside: with r/ρ alone, exit_time's constant reward gave a scale of
        10⁻³ of V's size)."""
        problem = self.problem
        if problem.boundary != "exit":
            return reward_scale(problem, policy, self.collocation, self.critic)
        inside = discounted_reward(problem, policy, self.collocation)
        edge = boundary_points(problem, self.s.collocation, seed=self.s.seed + 4)
        on_faces = problem.boundary_reward(torch.as_tensor(edge, dtype=torch.float64)).detach().numpy()[:, 0]
        return spread(np.concatenate([inside, np.resize(on_faces, len(inside))]))

    def solution(self, policy, history: list[dict], status: str) -> Solution:
        return Solution(self.problem, self.critic, policy, history, self.s, status=status)

    def evaluate(self, it: int, policy, history: list[dict]) -> dict:
        """V^{α_k}: rescale to V's size (after the first iteration), then the anchored evaluation."""
        critic = self.critic

        def partial(status: str) -> Solution:
            return self.solution(policy, history, status)

        if it > 0:  # the scale follows V's size, so the losses stay relative to the V being learned
            critic.rescale(*value_size(critic, self.collocation))
        if self.rollouts:  # fresh states of the policy being evaluated every Adam step
            self.fresh = pool_points(visited_states(self.problem, policy, rollout_paths(self.s.collocation), self.rng),
                                     self.s.collocation, self.rng)
        return evaluate_anchored(self.problem, critic, policy, self.collocation, self.anchor_x, self.probe, self.s, it,
                                 self.noise_dim, self.progress, partial, self.carry, self.fresh)

    def improve(self, it: int, policy):
        """α_{k+1} = argmax_a Q_k(x, a): the problem's closed form from a frozen V_k, or the actor's ascent."""
        if not self.use_actor:
            return GreedyPolicy(self.problem, self.critic)
        s = self.s
        actor_ascent(self.problem, self.critic, self.actor, self.collocation, steps=s.actor_steps,
                     learning_rate=s.actor_learning_rate, lbfgs_steps=s.actor_lbfgs_steps)
        return copy.deepcopy(self.actor)

    def measure(self, it: int, policy, history: list[dict]) -> dict:
        """HJB residual at the improved action on the probe set, relative to ρ·(V's size there: its spread, or with a
        profile its local size), the relative change of V (in units of that size) and α since the last
        iteration, and the boundary condition's misfit on V's scale (hjb.solvers.boundary.boundary_misfit)."""
        solution = self.solution(policy, history, "running")
        value, action = solution.value(self.probe), solution.action(self.probe)
        size = local_size(self.critic, self.probe, value)
        residual = solution.hjb_residual(self.probe) / (self.problem.discount * size)
        record = {"hjb_residual_rms": float(np.sqrt(np.mean(residual**2))),
                  "hjb_residual_max": float(np.max(np.abs(residual))), "value_change": math.inf,
                  "policy_change": math.inf,
                  "boundary_misfit": boundary_misfit(self.problem, self.critic, self.edge_probe)}
        if self.previous is not None:
            before_value, before_action = self.previous
            unit = size / np.max(size)  # 1 without a profile
            record["value_change"] = float(np.linalg.norm((value - before_value) / unit) / np.linalg.norm(value / unit))
            record["policy_change"] = float(np.linalg.norm(action - before_action)
                                            / max(np.linalg.norm(action), 1e-300))
        self.previous = value, action
        self.carry.value_change = record["value_change"]
        return record

    def after(self, it: int, policy, history: list[dict]) -> None:
        """Redraw resample_fraction of the collocation points ∝ |HJB residual|."""
        if self.s.resample_fraction > 0:
            self.collocation = resample(self.solution(policy, history, "running"), self.collocation, self.s, it)

    def done(self, history: list[dict]) -> bool:
        return done(history, self.s)

    def status(self, history: list[dict]) -> str:
        return status(history, self.s)


# From this dimension on every Adam step draws fresh collocation points from the box (and the fits skip L-BFGS): a
# fixed set of a few hundred points is interpolated, not solved between its points. lqr10d at the fixed 256 points:
# PDE loss 1e-15, HJB residual 8–180 × ρ·scale on the probe set, V 29% off after 4 iterations (1359 s); with fresh
# points and the L-BFGS budget spent on Adam 2.7% (policy 4.8%) after 6 (692 s). lqr5d passes on its fixed points
# (V 1.4e-3) and keeps them.
FRESH_POINTS_MIN_DIM = 8


def fresh_box_points(box, s: SolverSettings):
    """draw(step) -> `collocation` uniform points (n, d) of the box, a new set each call (seeded by the settings)."""
    rng = np.random.default_rng(s.seed + 5)

    def draw(step: int) -> np.ndarray:
        return box.sample(s.collocation, "uniform", seed=int(rng.integers(2**31)))

    return draw


def pool_points(pool: np.ndarray, n: int, rng: np.random.Generator):
    """draw(step) -> n rows (n, d) of the pool, drawn with replacement, a new set each call."""

    def draw(step: int) -> np.ndarray:
        return pool[rng.integers(len(pool), size=n)]

    return draw


def resample(solution: Solution, collocation: np.ndarray, s: SolverSettings, it: int) -> np.ndarray:
    """Replace a fraction of the collocation points (n, d) by candidates drawn ∝ |HJB residual|."""
    n_new = int(round(s.resample_fraction * len(collocation)))
    candidates = solution.problem.domain.sample(8 * len(collocation), "uniform", seed=s.seed + 100 + it)
    picks = residual_weighted_pick(candidates, solution.hjb_residual(candidates), n_new, seed=s.seed + it)
    keep = np.random.default_rng(s.seed + it).permutation(len(collocation))[: len(collocation) - n_new]
    return np.concatenate([collocation[keep], picks], axis=0)
