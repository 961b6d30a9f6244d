"""The plain-DeepXDE baseline: DeepXDE on the *nonlinear* HJB residual ρV − max_a {r + L^a V} (greedy a from ∇V)
at the collocation points, with no boundary data, no policy iteration and no anchors: what a user of DeepXDE
alone would write."""
from __future__ import annotations

import numpy as np

from hjb.nn.pinn_fit import train_pinn
from hjb.nn.value_network import ValueNetwork
from hjb.pdes.problem import ControlProblem
from hjb.settings import SolverSettings
from hjb.solvers.evaluation import hjb_pde
from hjb.solvers.iteration import seed_everything


def plain_deepxde(problem: ControlProblem, settings: SolverSettings, seed: int, adam_steps: int,
                  lbfgs_steps: int) -> ValueNetwork:
    """V_θ (settings' width × depth, output scale 1) trained by adam_steps Adam steps then at most lbfgs_steps
    L-BFGS iterations on the HJB residual at settings.collocation Sobol points of the box."""
    seed_everything(seed)
    critic = ValueNetwork(problem.domain, settings.width, settings.depth)
    critic.set_output_scale(0.0, 1.0)
    points = np.asarray(problem.domain.sample(settings.collocation, "sobol", seed), dtype=np.float64)
    train_pinn(hjb_pde(problem), critic, points, adam_steps=adam_steps,
               lbfgs_steps=lbfgs_steps, learning_rate=settings.learning_rate, iteration=0, chunk=max(adam_steps, 1))
    return critic
