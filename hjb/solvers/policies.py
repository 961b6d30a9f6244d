"""Feedback policies α(x) (n, m) used in the outer loop: the initial one, greedy from a frozen critic, an actor."""
from __future__ import annotations

import copy

import torch

from hjb.backend import dde
from hjb.nn.value_network import ValueNetwork
from hjb.pdes.generator import value_derivatives
from hjb.pdes.problem import ControlProblem
from hjb.pdes.residuals import greedy

Tensor = torch.Tensor


def zero_hessian(x: Tensor) -> Tensor:
    """A zero ∇²V (n, d, d) for a greedy action that ignores it: a broadcast view of one zero, so that it costs no
    memory (materialised, it took n·d² floats per call: 245 MB per Feynman–Kac step at d = 200)."""
    return torch.zeros((), dtype=x.dtype).expand(x.shape[0], x.shape[1], x.shape[1])


class InitialPolicy:
    """The problem's admissible starting policy α_0."""

    kind = "initial"

    def __init__(self, problem: ControlProblem):
        self.problem = problem

    def __call__(self, x: Tensor) -> Tensor:
        with torch.no_grad():
            return self.problem.initial_policy(x)

    def single_precision(self) -> InitialPolicy:
        return self


class GreedyPolicy:
    """α(x) = argmax_a {r + L^a V_k} by the problem's closed form, V_k a frozen copy of the critic."""

    kind = "greedy"

    def __init__(self, problem: ControlProblem, critic: ValueNetwork):
        self.problem = problem
        self.critic = copy.deepcopy(critic)

    def __call__(self, x: Tensor) -> Tensor:
        _, dV, d2V = self.critic.derivatives(x, hessian=self.problem.greedy_uses_hessian)
        if d2V is None:
            d2V = zero_hessian(x)
        with torch.no_grad():
            return greedy(self.problem, x, dV, d2V)

    def single_precision(self) -> GreedyPolicy:
        """The same policy from a float32 copy of V_k (ValueNetwork.single_precision), for Monte Carlo rollouts."""
        twin = copy.copy(self)
        twin.critic = self.critic.single_precision()
        return twin

    def differentiable(self, x: Tensor) -> Tensor:
        """α(x) (n, m) with its graph in x (x must require grad): the Fokker–Planck operator needs ∂α/∂x."""
        dV, d2V = value_derivatives(self.critic.net(x), x, create_graph=True, hessian=self.problem.greedy_uses_hessian)
        if d2V is None:
            d2V = zero_hessian(x)
        return greedy(self.problem, x, dV, d2V)


class ActorPolicy:
    """α_φ(x): an FNN on box-normalised inputs, squashed into the action bounds by tanh when they exist."""

    kind = "actor"

    def __init__(self, problem: ControlProblem, width: int, depth: int, critic: ValueNetwork):
        self.problem = problem
        m = problem.action_dim
        self.net = dde.nn.FNN([problem.state_dim] + [width] * depth + [m], "tanh", "Glorot normal")
        self.net.apply_feature_transform(critic.net._input_transform)
        bounds = problem.action_bounds
        if bounds is not None:
            low, high = (torch.as_tensor(b, dtype=torch.float64) for b in bounds)
            self.net.apply_output_transform(lambda x, y: low + (high - low) * (torch.tanh(y) + 1) / 2)

    def action(self, x: Tensor) -> Tensor:
        """α_φ(x) (n, m) with gradient in φ."""
        return self.net(x)

    def __call__(self, x: Tensor) -> Tensor:
        with torch.no_grad():
            return self.net(x)

    def single_precision(self) -> ActorPolicy:
        return self  # one small network's forward pass: nothing to gain

    def state(self) -> dict:
        return {k: v.detach().clone() for k, v in self.net.state_dict().items()}
