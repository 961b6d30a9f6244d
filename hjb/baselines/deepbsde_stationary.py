"""Stationary DeepBSDE: a discounted, infinite-horizon control problem's value V_θ from the BSDE on short windows.

For the optimal control, Itô on e^{−ρt}V(X_t) and the HJB ρV = r + L^a V give, on any window [0, τ],
    e^{−ρτ}V(X_τ) − V(X_0) + ∫_0^τ e^{−ρs} r(X_s, a_s) ds − ∫_0^τ e^{−ρs} ∇V(X_s)ᵀΣ(X_s, a_s) dW_s = 0
pathwise. DeepBSDE's finite-horizon scheme (hjb.baselines.deepbsde) has no terminal condition here, so V_θ, a
tanh MLP of x, is fitted by Adam on the mean square of this residual over windows of N Euler steps from X_0
uniform in the problem's box, the paths driven by the current greedy action a = argmax_a {r + L^a V_θ} from ∇V_θ
(detached: the control moves the paths, the loss moves V_θ). The Z of DeepBSDE is Σᵀ∇V_θ, not a second network.
V_θ starts at 0 and first fits the problem's initial policy (StationaryBSDESettings.warmup_fraction).
Plain torch in float64; needs a problem whose closed-form greedy action does not use ∇²V.

Known limit: the mean residual pins V_θ's level only through (1 − e^{−ρτ}) ≈ ρτ, so a bias δ in it (Euler's, or
V_θ's extrapolation at the window ends that leave the box, where no window starts) moves V_θ by about δ/(ρτ).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from hjb.baselines.deepbsde import F64, positive_float
from hjb.errors import ProblemError, positive_int
from hjb.nn.adam_loop import minimise
from hjb.pdes.problem import ControlProblem

Tensor = torch.Tensor


@dataclass(frozen=True)
class StationaryBSDESettings:
    """Adam steps, windows per step, learning rate, Euler steps per window and their Δt, MLP width × depth, seed.

    The first `warmup_fraction` of the iterations fit the value of the problem's initial (admissible) policy, so
    that the first greedy action comes from a value of the right shape (an untrained ∇V_θ can push the paths off to
    where V_θ is never fitted, and the fit collapses); the learning rate drops tenfold for the last
    `decay_fraction` of the iterations.
    """

    iterations: int = 3000
    batch: int = 256
    learning_rate: float = 3e-3
    window: int = 20
    dt: float = 0.05
    width: int = 64
    depth: int = 2
    seed: int = 0
    decay_fraction: float = 0.25
    warmup_fraction: float = 0.2

    def __post_init__(self):
        for name in ("iterations", "batch", "window", "width", "depth"):
            positive_int(getattr(self, name), name)
        positive_float(self.learning_rate, "learning_rate")
        positive_float(self.dt, "dt")
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise ProblemError(f"seed must be an integer ≥ 0; got {self.seed!r}")
        if not (isinstance(self.decay_fraction, (int, float)) and 0.0 <= self.decay_fraction < 1.0):
            raise ProblemError(f"decay_fraction must lie in [0, 1); got {self.decay_fraction!r}")
        if not (isinstance(self.warmup_fraction, (int, float)) and 0.0 <= self.warmup_fraction < 1.0):
            raise ProblemError(f"warmup_fraction must lie in [0, 1); got {self.warmup_fraction!r}")


class ValueMLP(torch.nn.Module):
    """V_θ(x) (n, 1) for x (n, d): a tanh MLP of x̃ = (x − centre)/half-width, the box mapped onto [−1, 1]^d."""

    def __init__(self, lo: np.ndarray, hi: np.ndarray, width: int, depth: int):
        super().__init__()
        self.register_buffer("centre", torch.as_tensor(0.5 * (lo + hi), dtype=F64))
        self.register_buffer("half_width", torch.as_tensor(0.5 * (hi - lo), dtype=F64))
        layers, fan_in = [], lo.size
        for _ in range(depth):
            layers += [torch.nn.Linear(fan_in, width, dtype=F64), torch.nn.Tanh()]
            fan_in = width
        out = torch.nn.Linear(fan_in, 1, dtype=F64)
        torch.nn.init.zeros_(out.weight)  # V_θ ≡ 0 at the start: no push from an untrained ∇V_θ
        self.mlp = torch.nn.Sequential(*layers, out)

    def forward(self, x: Tensor) -> Tensor:
        return self.mlp((x - self.centre) / self.half_width)


def value_and_gradient(value: torch.nn.Module, x: Tensor, create_graph: bool = True) -> tuple[Tensor, Tensor]:
    """V_θ(x) (n, 1) and ∇V_θ(x) (n, d) at x (n, d) (a fresh leaf, so x's own graph is not followed)."""
    x = x.detach().requires_grad_(True)
    v = value(x)
    (dv,) = torch.autograd.grad(v.sum(), x, create_graph=create_graph)
    return v, dv


def greedy(problem: ControlProblem, x: Tensor, dv: Tensor) -> Tensor:
    """a = argmax_a {r + L^a V} (n, m) from ∇V (n, d), clipped into the problem's action bounds."""
    return problem.clip_action(problem.greedy_action(x, dv, None))


def discounted_residual(problem: ControlProblem, value: torch.nn.Module, x0: Tensor, dw: Tensor, dt: float,
                        greedy_control: bool = True) -> Tensor:
    """e^{−ρτ}V_θ(X_N) − V_θ(X_0) + ∫_0^τ e^{−ρs} r ds − Σ_k e^{−ρt_k}∇V_θ(X_k)ᵀΣ(X_k, a_k)ΔW_k (n, 1), τ = NΔt.

    x0 (n, d) starts the paths, dw (n, N, k) holds ΔW_k ~ N(0, Δt I); X_{k+1} = X_k + f(X_k, a_k)Δt + ΣΔW_k with
    a_k the greedy action of ∇V_θ(X_k), detached (or the problem's initial policy when greedy_control is False:
    then it is the residual of that policy's value). ∫ e^{−ρs} r(X_s, a_s) ds is the trapezoidal sum over t_0 … t_N:
    a bias δ in the residual's mean shifts V_θ by about δ/(1 − e^{−ρτ}), 10δ at ρτ = 0.1.
    """
    rho, steps = problem.discount, dw.shape[1]
    x, total, v0 = x0, torch.zeros(x0.shape[0], 1, dtype=x0.dtype), None
    for k in range(steps + 1):
        v, dv = value_and_gradient(value, x)
        v0 = v if k == 0 else v0
        discount = math.exp(-rho * k * dt)
        with torch.no_grad():
            a = greedy(problem, x, dv.detach()) if greedy_control else problem.initial_policy(x)
            reward = problem.reward(x, a)
        total = total + (0.5 if k in (0, steps) else 1.0) * discount * reward * dt
        if k == steps:
            return discount * v - v0 + total
        with torch.no_grad():
            noise = torch.einsum("ndk,nk->nd", problem.diffusion(x, a), dw[:, k])
            drift = problem.drift(x, a)
        total = total - discount * (dv * noise).sum(-1, keepdim=True)
        x = (x + drift * dt + noise).detach()
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class StationaryBSDEResult:
    """The trained V_θ, the loss per iteration (iterations,), training seconds and the problem it solves."""

    network: ValueMLP
    problem: ControlProblem
    losses: np.ndarray
    seconds: float
    settings: StationaryBSDESettings = field(default_factory=StationaryBSDESettings)

    def value(self, x) -> np.ndarray:
        """V_θ(x) (n,) for x (n, d)."""
        with torch.no_grad():
            return self.network(torch.as_tensor(np.asarray(x, dtype=float), dtype=F64)).numpy().ravel()

    def policy(self, x) -> np.ndarray:
        """The greedy action of V_θ (n, m) at x (n, d)."""
        xt = torch.as_tensor(np.asarray(x, dtype=float), dtype=F64)
        _, dv = value_and_gradient(self.network, xt, create_graph=False)
        return greedy(self.problem, xt, dv).detach().numpy()


def _check_problem(problem) -> None:
    if not isinstance(problem, ControlProblem):
        raise ProblemError(f"problem must be a ControlProblem; got {type(problem).__name__}")
    if problem.greedy_action is None or problem.greedy_uses_hessian:
        raise ProblemError(f"problem {problem.name!r} needs a closed-form greedy_action that ignores ∇²V "
                           "(greedy_uses_hessian=False)")


def solve_stationary_bsde(problem: ControlProblem,
                          settings: StationaryBSDESettings = StationaryBSDESettings()) -> StationaryBSDEResult:
    """Fit V_θ by Adam on the mean square of the discounted BSDE residual over windows from X_0 ~ U(box).

    Noise, starts and weights come from `settings.seed` (the global torch RNG state is left as it was). Raises
    TrainingDivergedError if the loss becomes NaN or inf.
    """
    _check_problem(problem)
    if not isinstance(settings, StationaryBSDESettings):
        raise ProblemError(f"settings must be StationaryBSDESettings; got {type(settings).__name__}")
    noise_dim = problem.check_shapes()
    lo, hi = problem.domain.lo, problem.domain.hi
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(settings.seed))
        network = ValueMLP(lo, hi, settings.width, settings.depth)
    gen = torch.Generator().manual_seed(int(settings.seed))
    optimizer = torch.optim.Adam(network.parameters(), lr=settings.learning_rate)
    warmup = int(settings.warmup_fraction * settings.iterations)
    decay_at = settings.iterations - int(settings.decay_fraction * settings.iterations)
    schedule = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[decay_at], gamma=0.1)
    lo_t, span = torch.as_tensor(lo, dtype=F64), torch.as_tensor(hi - lo, dtype=F64)
    n, steps, d = settings.batch, settings.window, lo.size
    def loss_at(k: int) -> torch.Tensor:
        x0 = lo_t + span * torch.rand(n, d, generator=gen, dtype=F64)
        dw = math.sqrt(settings.dt) * torch.randn(n, steps, noise_dim, generator=gen, dtype=F64)
        residual = discounted_residual(problem, network, x0, dw, settings.dt, greedy_control=k >= warmup)
        return (residual ** 2).mean()

    start = time.perf_counter()
    losses = minimise(loss_at, optimizer, schedule, settings.iterations, "stationary BSDE")
    seconds = time.perf_counter() - start
    network.eval()
    return StationaryBSDEResult(network, problem, losses, seconds, settings)
