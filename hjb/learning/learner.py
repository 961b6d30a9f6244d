"""Learning J and the policy from transitions alone by the martingale orthogonality conditions (Jia & Zhou 2023): with
the TD rate e = (e^{−ρΔt}J̄(x') − J(x))/Δt + r − q(x, a), E[ξ e] = 0 for the test functions ξ = ∂J/∂θ and ∂q/∂ψ.
Each Adam step on a minibatch moves θ along mean(e ∂J) and ψ along mean(e ∂q) (semi-gradient: J̄ is J held fixed for
the q method, a Polyak-averaged copy for the td method); the conditions are then solved exactly on the learnt
features (hjb.learning.lstd). J(x') − J(x) is measured on the transitions themselves, so the
diffusion's effect on J (½ tr ΣΣᵀ∇²J) is in the data, never dropped."""
from __future__ import annotations

import copy
import math
import time

import numpy as np
import torch

from hjb.errors import ProblemError, TrainingDivergedError
from hjb.geometry.box import Box
from hjb.learning.advantage import AdvantageActor
from hjb.learning.features import set_value, value_features
from hjb.learning.gaussian_q import GaussianQ
from hjb.learning.learned import LearnedSolution, orthogonality_z
from hjb.learning.lstd import basis, evaluate, q_fixed_point, value_rows
from hjb.learning.transitions import Transitions
from hjb.nn.value_network import ValueNetwork
from hjb.progress import Progress
from hjb.settings import QLEARNING_SETTINGS, QLearningSettings
from hjb.solvers.iteration import seed_everything

HELD_OUT = 0.1  # the fraction of transitions kept for the orthogonality test
POLYAK = 0.01  # the td method's target network: J̄ ← J̄ + POLYAK·(J − J̄) per step


def _tensors(t: Transitions, rows: np.ndarray) -> tuple[torch.Tensor, ...]:
    return tuple(torch.as_tensor(v[rows], dtype=torch.float64) for v in (t.x, t.a, t.r, t.x_next, t.dt))


def rate_of(J_x: torch.Tensor, J_next: torch.Tensor, q: torch.Tensor, r, dt, discount: float) -> torch.Tensor:
    """e = (e^{−ρΔt}J̄(x') − J(x))/Δt + r − q (n,) from J(x), J̄(x'), q(x, a), r and Δt, each (n,)."""
    return (torch.exp(-discount * dt) * J_next - J_x) / dt + r - q


def td_rate(J, J_bar, head, x, a, r, x_next, dt, discount: float) -> torch.Tensor:
    """rate_of at a batch (x (n, d), a (n, m), r, x', dt (n,)): J, J̄ and the head's rate evaluated there."""
    return rate_of(J(x)[:, 0], J_bar(x_next)[:, 0], head.rate(x, a), r, dt, discount)


def window_starts(x: np.ndarray, x_next: np.ndarray, k: int) -> np.ndarray:
    """Rows i where rows i … i+k−1 chain (x'_j = x_{j+1}): the starts of k-step stretches of one trajectory."""
    chained = np.concatenate([np.all(x_next[:-1] == x[1:], axis=1), [False]]).astype(int)
    links = np.concatenate([[0], np.cumsum(chained)])
    starts = np.arange(len(x) - k + 1)
    return starts[links[starts + k - 1] - links[starts] == k - 1]


def windows(transitions: Transitions, rows: np.ndarray, k: int) -> tuple[torch.Tensor, int]:
    """(starts, k) of the k-step windows of chained rows among `rows`, or (rows, 1) when no trajectory is k long."""
    starts = window_starts(transitions.x[rows], transitions.x_next[rows], k)
    return (torch.as_tensor(starts), k) if len(starts) else (torch.as_tensor(rows), 1)


def window_rate(J, J_bar, head, data: tuple, idx: torch.Tensor, discount: float) -> torch.Tensor:
    """The TD rate over k steps (n,) for windows idx (n, k) of chained rows: (e^{−ρT}J̄(x'_{k}) − J(x_1))/T +
    Σ_j e^{−ρt_j}(r_j − rate(x_j, a_j))Δt_j / T, t_j the time from the window's start, T = ΣΔt_j. The martingale
    e^{−ρt}J(X_t) + ∫e^{−ρs}(r − q)ds has increments over any window, whose noise per unit time falls as 1/√T."""
    x, a, r, x_next, dt = data
    n, k = idx.shape
    steps = dt[idx]
    elapsed = torch.cumsum(steps, dim=1) - steps
    total = steps.sum(dim=1)
    rates = head.rate(x[idx].reshape(n * k, -1), a[idx].reshape(n * k, -1)).reshape(n, k)
    running = (torch.exp(-discount * elapsed) * (r[idx] - rates) * steps).sum(dim=1)
    end = J_bar(x_next[idx[:, -1]])[:, 0]
    return (torch.exp(-discount * total) * end - J(x[idx[:, 0]])[:, 0] + running) / total


def make_head(settings: QLearningSettings, box: Box, low: np.ndarray, high: np.ndarray, J: ValueNetwork,
              reward_scale: float):
    """GaussianQ (method q) or AdvantageActor (method td) on J's input map; λ starts at reward_scale/(half range)²."""
    s, z = settings, J.net._input_transform
    if s.method == "q":
        return GaussianQ(box.dim, low, high, s.temperature, s.actor_width, s.actor_depth, z,
                         float(np.mean(reward_scale / ((high - low) / 2) ** 2)))
    if s.temperature > 0:
        raise ProblemError("method 'td' learns a deterministic policy; use method 'q' for a temperature > 0")
    return AdvantageActor(box.dim, low, high, s.actor_width, s.actor_depth, z)


def learn(transitions: Transitions, domain: Box, action_low: np.ndarray, action_high: np.ndarray, discount: float,
          settings: QLearningSettings | None = None, progress: Progress | bool = True, name: str = "learned",
          on_checkpoint=None) -> LearnedSolution:
    """J_θ (n,) and the policy from the transitions (on `domain`, actions in [low, high], discount ρ > 0) by the
    settings' method: Adam steps on minibatches (J along the window rates, q along the one-step rates) learn the
    networks' features; then the orthogonality conditions are solved exactly on them over every solve_window-step
    window (method q: hjb.learning.lstd.q_fixed_point, evaluation and improvement until the policy settles; td:
    refit_value). Status "converged" when the policy settled (relative change ≤ policy_tol over the last round, or
    for td the last checkpoint) and the held-out TD rates are orthogonal to the test functions within
    orthogonality_z se. The rows are split, not shuffled: the last tenth (whole trajectories) is held out."""
    s = settings or QLEARNING_SETTINGS
    low, high = np.asarray(action_low, dtype=float), np.asarray(action_high, dtype=float)
    if transitions.state_dim != domain.dim or transitions.action_dim != len(low):
        raise ProblemError(f"transitions have d = {transitions.state_dim}, m = {transitions.action_dim}; the "
                           f"environment has d = {domain.dim}, m = {len(low)}")
    if not np.all(np.isfinite(low) & np.isfinite(high)):
        raise ProblemError("the model-free learners need finite action bounds")
    seed_everything(s.seed)
    n_train = len(transitions) - max(int(HELD_OUT * len(transitions)), 1)
    train, held = np.arange(n_train), np.arange(n_train, len(transitions))  # the last rows: whole trajectories kept
    starts, window = windows(transitions, train, s.window)
    solve_starts, solve_window = windows(transitions, train, s.solve_window)
    J = ValueNetwork(domain, s.width, s.depth)
    reward_scale = max(float(np.sqrt(np.mean(transitions.r**2))), 1e-12)
    J.set_output_scale(0.0, reward_scale)
    head = make_head(s, domain, low, high, J, reward_scale)
    J_bar = J if head.kind == "q" else copy.deepcopy(J)
    optimiser = torch.optim.Adam([*J.net.parameters(), *head.parameters()], lr=s.learning_rate)
    actor_optimiser = torch.optim.Adam(head.actor_parameters(), lr=s.learning_rate) if head.kind == "td" else None
    schedules = [torch.optim.lr_scheduler.CosineAnnealingLR(o, s.steps) for o in (optimiser, actor_optimiser) if o]
    probe = torch.as_tensor(domain.sample(s.probe_points, "sobol", seed=s.seed + 1), dtype=torch.float64)
    data, history, previous = _tensors(transitions, train), [], None
    own_bar = not isinstance(progress, Progress)
    if own_bar:
        progress = Progress(s.checkpoints + 1, enabled=bool(progress), label=name, unit="phase")
    start, every = time.perf_counter(), max(s.steps // s.checkpoints, 1)
    offsets = torch.arange(window)
    for step in range(s.steps):
        idx = starts[torch.randint(len(starts), (s.batch,))][:, None] + offsets
        x, a, r, x_next, dt = (v[idx[:, 0]] for v in data)
        with torch.no_grad():
            target_bar = J_bar(x_next)
            long_rate = window_rate(J, J_bar, head, data, idx, discount)
        q_xa = head.rate(x, a)
        J_x = J(x)[:, 0]
        rate = rate_of(J_x, target_bar[:, 0], q_xa, r, dt, discount)
        if not (torch.isfinite(rate).all() and torch.isfinite(long_rate).all()):
            raise TrainingDivergedError(f"the TD rate turned NaN/inf at step {step + 1}", iteration=step + 1)
        # J along the window's rate (low noise), q along the one-step rate (its own action's effect)
        loss = -(long_rate * J_x + rate.detach() * q_xa).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        if actor_optimiser is not None:
            _actor_step(head, actor_optimiser, x)
            _polyak(J_bar, J)
        for schedule in schedules:
            schedule.step()
        if (step + 1) % every == 0 or step + 1 == s.steps:
            policy = head.policy(probe).detach()
            change = math.inf if previous is None else float(torch.linalg.norm(policy - previous) /
                                                               max(float(torch.linalg.norm(policy)), 1e-12))
            previous = policy
            history.append({"step": step + 1, "td_rate_ms": float((rate.detach() ** 2).mean()),
                            "policy_change": change, "seconds": time.perf_counter() - start})
            progress.advance(f"step {step + 1}/{s.steps} | TD rate² {history[-1]['td_rate_ms']:.2e} | "
                             f"policy change {change:.1e}")
            if on_checkpoint is not None:
                on_checkpoint(step + 1, J, head)
    if head.kind == "q":
        history[-1]["fixed_point"] = q_fixed_point(J, head, data, solve_starts, solve_window, discount, probe,
                                                   s.fixed_point_iterations, s.policy_tol)
        last = history[-1]["fixed_point"][-1]
        history[-1].update({key: last[key] for key in ("discount", "policy_change", "value_se", "value_rms")
                            if key in last})
    else:
        history[-1]["value_refit"] = refit_value(J, head, data, solve_starts, solve_window, discount)
    if own_bar:
        progress.advance(f"exact solve | policy change {history[-1]['policy_change']:.1e}")
    z = orthogonality_z(J, J_bar, head, _tensors(transitions, held), discount, td_rate)
    history[-1]["orthogonality_z"] = z
    # the fixed point settles only at ρ itself, not while its discount still anneals
    settled = (history[-1]["policy_change"] <= s.policy_tol and z <= s.orthogonality_z
               and history[-1].get("discount", discount) == discount)
    history[-1]["window"], history[-1]["solve_window"] = window, solve_window
    history[-1]["solve_seconds"] = time.perf_counter() - start - history[-1]["seconds"]
    history[-1]["seconds"] = time.perf_counter() - start
    if own_bar:
        progress.close()
    return LearnedSolution(J, head, domain, low, high, discount, history, s, "converged" if settled else "not_converged",
                           name=name, transitions=len(transitions))


@torch.no_grad()
def refit_value(J: ValueNetwork, head, data: tuple, starts: torch.Tensor, window: int, discount: float) -> float:
    """Solve the orthogonality conditions E[ξ e] = 0 for J's last layer exactly (LSTD on the learnt features, the
    head's rate held fixed): J = uᵀφ_J with φ_J the whitened last hidden layer and a constant, ξ = φ_J at the windows'
    starts (the semi-gradient steps leave J's curvature and level wandering: lqr1d's J 0.1 off in level after 20000
    steps). Returns the rms change of J at the windows' starts."""
    if J.profiled:
        return 0.0
    x, a = data[0], data[1]
    before = J(x[starts])[:, 0]
    value_basis, phi = basis(value_features(J), x)
    empty = torch.zeros(len(x), 0, dtype=x.dtype)
    value = value_rows(value_basis, phi, data, starts, window, discount)
    set_value(J, *value_basis.raw_layer(evaluate(value, data, starts, window, discount, empty, head.rate(x, a))[:, None]))
    return float(torch.sqrt(torch.mean((J(x[starts])[:, 0] - before) ** 2)))


def _actor_step(head: AdvantageActor, optimiser: torch.optim.Optimizer, x: torch.Tensor) -> None:
    """One ascent step of the actor on mean A(x, α(x)) (gradients to the actor only)."""
    params = head.actor_parameters()
    grads = torch.autograd.grad(head.extra_loss(x), params)
    for p, g in zip(params, grads, strict=True):
        p.grad = g
    optimiser.step()


@torch.no_grad()
def _polyak(target: ValueNetwork, live: ValueNetwork) -> None:
    for t, p in zip(target.net.parameters(), live.net.parameters(), strict=True):
        t.add_(POLYAK * (p - t))
