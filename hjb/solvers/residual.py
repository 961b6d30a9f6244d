"""A residual PDE (hjb.pdes.residual_pde) fitted by PINN: R(x, u, D) at interior points plus its conditions as
DeepXDE condition terms, Adam then L-BFGS, measured on fresh points."""
from __future__ import annotations

import numpy as np
import torch

from hjb.nn.pinn_fit import train_pinn
from hjb.nn.value_network import ValueNetwork
from hjb.pdes import conditions as cond
from hjb.pdes.derivatives import Derivatives
from hjb.pdes.residual_pde import ResidualPDE
from hjb.progress import Progress
from hjb.settings import RESIDUAL_SETTINGS, ResidualSettings
from hjb.solvers.iteration import seed_everything

Tensor = torch.Tensor


def _identity(x: Tensor, y: Tensor) -> Tensor:
    return y


def residual_network(pde: ResidualPDE, settings: ResidualSettings) -> ValueNetwork:
    """u_θ = output_transform(x, N_θ) (identity if none), width × depth of the settings: built alike by the solver
    and by a run directory's loader."""
    return ValueNetwork(pde.domain, settings.width, settings.depth, output=pde.output_transform or _identity)


class ResidualSolution:
    """The fitted u_θ of a residual PDE, with its history (one record), settings and status."""

    def __init__(self, pde: ResidualPDE, network: ValueNetwork, history: list[dict], settings: ResidualSettings,
                 status: str):
        self.problem, self.network, self.history, self.settings, self.status = pde, network, history, settings, status

    def value(self, x: np.ndarray) -> np.ndarray:
        """u_θ (n,) at points x (n, D)."""
        return self.network.values(np.asarray(x, dtype=float).reshape(len(x), -1))

    def residual(self, x: np.ndarray) -> np.ndarray:
        """R(x, u_θ, D) (n,) at points x (n, D)."""
        return self.residual_and_size(x)[0]

    def residual_and_size(self, x: np.ndarray) -> tuple[np.ndarray, float]:
        """R (n,) at x (n, D) and the size of the terms it balances: the largest rms of u_θ and of each derivative the
        residual reads."""
        with torch.enable_grad():
            xt = torch.as_tensor(np.asarray(x, dtype=float), dtype=torch.float64).clone().requires_grad_(True)
            u = self.network(xt)
            derivatives = Derivatives(xt, u, self.problem.time)
            r = self.problem.residual_at(xt, u, derivatives).detach()[:, 0].numpy()
        return r, derivatives.term_size()

    def gradient(self, x: np.ndarray) -> np.ndarray:
        """∇u_θ (n, D) at x (n, D) (with ∂u/∂t last on a SpaceTime domain)."""
        return self.network.gradient(torch.as_tensor(np.asarray(x, dtype=float), dtype=torch.float64)).numpy()


def condition_misfits(pde: ResidualPDE, u: ValueNetwork, n: int, seed: int) -> dict[str, float]:
    """RMS of u − g (Dirichlet, Initial, Terminal, PointData), ∂u/∂n − g (Neumann) or u(lo) − u(hi) (Periodic) on n
    fresh points of each condition's part, keyed "<index>:<kind>"."""
    out = {}
    box = pde.domain.box if pde.time else pde.domain
    for k, c in enumerate(pde.conditions):
        x = np.asarray(c.points, dtype=float) if isinstance(c, cond.PointData) else \
            cond.condition_points(c, pde.domain, pde.periodic, n, seed + k)
        if isinstance(c, cond.Periodic):
            partner = x.copy()
            partner[:, c.axis] = box.hi[c.axis]
            misfit = u.values(x) - u.values(partner)
        elif isinstance(c, cond.PointData):
            misfit = u.values(x) - np.asarray(c.values, dtype=float).reshape(-1)
        elif isinstance(c, cond.Neumann):
            misfit = _normal_derivative(u, x, box) - cond.value_column(c.value)(x)[:, 0]
        else:
            misfit = u.values(x) - cond.value_column(c.value)(x)[:, 0]
        out[f"{k}:{type(c).__name__}"] = float(np.sqrt(np.mean(misfit**2)))
    return out


def _normal_derivative(u: ValueNetwork, x: np.ndarray, box) -> np.ndarray:
    """∂u/∂n (n,) at boundary points x (n, D): the outward normal of the face each point lies on."""
    grad = u.gradient(torch.as_tensor(x, dtype=torch.float64)).numpy()
    normal = np.zeros_like(x)
    for i in range(box.dim):
        normal[np.isclose(x[:, i], box.lo[i]), i] = -1.0
        normal[np.isclose(x[:, i], box.hi[i]), i] = 1.0
    normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-300)
    return (grad * normal).sum(axis=1)


def solve_residual(pde: ResidualPDE, settings: ResidualSettings | None = None, progress: Progress | bool = True
                   ) -> ResidualSolution:
    """Fit u_θ to R = 0 and the conditions; status "converged" when, on fresh points, the residual rms is at most
    residual_tol × the size of the terms it balances (the largest rms of u_θ and of each derivative it reads) and
    every condition's rms misfit at most residual_tol × rms(u_θ)."""
    s = settings or RESIDUAL_SETTINGS
    pde.check_shapes()
    seed_everything(s.seed)
    if not isinstance(progress, Progress):
        progress = Progress(1, enabled=bool(progress), label=pde.name)
    points = [pde.domain.sample(s.collocation, s.sampling, seed=s.seed)]
    points += [cond.condition_points(c, pde.domain, pde.periodic, s.boundary_points, s.seed + 1 + k)
               for k, c in enumerate(pde.conditions)]
    net = residual_network(pde, s)
    losses, steps = train_pinn(
        pde, net, np.concatenate(points),
        adam_steps=s.adam_steps_first, lbfgs_steps=s.pde_lbfgs_steps, learning_rate=s.learning_rate, iteration=0,
        on_chunk=lambda stage, k, losses: progress.message(f"{stage} step {k:5d} | loss {float(losses.sum()):.2e}"))
    solution = ResidualSolution(pde, net, [], s, "not_converged")
    probe = pde.domain.sample(s.probe_points, "sobol", seed=s.seed + 2)
    residual, terms = solution.residual_and_size(probe)
    scale = max(float(np.sqrt(np.mean(solution.value(probe) ** 2))), 1e-300)
    rms = float(np.sqrt(np.mean(residual**2)))
    misfits = condition_misfits(pde, net, s.probe_points, s.seed + 1000)
    worst = max([rms / max(terms, 1e-300), *(m / scale for m in misfits.values())])
    solution.history = [{"iteration": 0, "loss": float(losses.sum()), "steps": int(steps), "residual_rms": rms,
                         "term_rms": terms, "u_rms": scale, "condition_rms": misfits, "relative": worst}]
    solution.status = "converged" if worst <= s.residual_tol else "not_converged"
    return solution
