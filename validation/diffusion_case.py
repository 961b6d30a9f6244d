"""Diffusion validation case: the log-density HJB of VP noising of a Gaussian mixture, solved by PINN policy
iteration, next to denoising score matching (DSM) trained on samples of the same law; both measured against the
mixture's exact noised marginals (MATH.md §5), by energy distance to fresh data, and (PINN) by the verification
identity J(u) = V + ½E∫|u − u*|² for a perturbed control."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from hjb.pdes.data_laws import GaussianMixture
from hjb.pdes.noising import VPNoising
from hjb.settings import SolverSettings
from hjb.validation.cases import check_tolerances, passed
from hjb.validation.metrics import rel_l2

METRICS = ("log_density_rel_l2", "score_rel_l2", "energy_ratio", "identity_abs_z")
DENSITY_FLOOR = 1e-3  # errors are measured where p_{T−t} > DENSITY_FLOOR


def exact_log_density_and_score(data: GaussianMixture, noising: VPNoising, x: np.ndarray, t: float):
    """log p_{T−t}(x) (n,) and ∇ log p_{T−t}(x) (n, d) from the mixture's exact noised marginal."""
    law = data.noised(float(noising.alpha(noising.horizon - t)))
    xg = torch.tensor(x, requires_grad=True)
    log_p = law.log_density(xg)
    return log_p[:, 0].detach().numpy(), torch.autograd.grad(log_p.sum(), xg)[0].numpy()


class SinePerturbation:
    """δ(x, t) = amplitude·sin(x) (n, d), componentwise: a bounded perturbation of the optimal control."""

    def __init__(self, amplitude: float):
        self.amplitude = float(amplitude)

    def __call__(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.amplitude * torch.sin(x)


@dataclass(frozen=True)
class DiffusionCase:
    """data_factory() (a GaussianMixture) noised by `noising`: PINN (settings) and DSM (dsm_steps Adam steps on
    train_samples data samples) compared on box.grid(grid_points) at `times` (log-density), at T − 0.1 (score),
    by the energy distance of `samples` draws to fresh data (÷ that between two data sets of the same size), and
    the identity at (identity_x, identity_t) with `identity_paths` paths for δ = perturbation·sin x."""

    name: str
    data_factory: Callable[[], GaussianMixture]
    noising: VPNoising
    settings: SolverSettings
    grid_points: int
    times: tuple[float, ...] = (0.0, 1.0, 1.5, 1.9)
    dsm_steps: int = 40000
    train_samples: int = 10000
    samples: int = 10000
    sampler_steps: int = 500
    identity_x: tuple[float, ...] = (0.5,)
    identity_t: float = 0.5
    identity_paths: int = 4000
    identity_steps: int = 400
    perturbation: float = 0.5
    tolerances: dict[str, float] = field(default_factory=dict)
    kind = "diffusion"

    def __post_init__(self):
        check_tolerances(self.name, self.tolerances, METRICS)

    def cost(self) -> float:
        """PINN (collocation × (d + 1) × width × PI iterations) plus DSM (≈ steps/10)."""
        s = self.settings
        return s.collocation * (len(self.identity_x) + 1) * s.width * s.max_iterations + self.dsm_steps / 10

    def describe(self) -> dict[str, Any]:
        """JSON-ready summary: name, kind, data law, noising, times, tolerances."""
        return {"name": self.name, "kind": self.kind, "data": self.data_factory().to_dict(),
                "noising": self.noising.to_dict(), "times": list(self.times), "tolerances": dict(self.tolerances)}

    def run(self, seed: int | None = None, progress: bool = True) -> dict:
        """Solve by PINN and by DSM (neither sees the exact marginals), then measure both against them."""
        from hjb.finite_horizon_solver import solve_finite_horizon
        from hjb.pdes.diffusion_model import DiffusionModel
        from hjb.progress import Progress
        from hjb.sampler import learned_control, sample, verification_identity
        from hjb.score_matching import train_score_matching
        from hjb.validation.energy import energy_distance

        settings = self.settings if seed is None else self.settings.replace(seed=seed)
        rng = np.random.default_rng(settings.seed)
        data = self.data_factory()
        model = DiffusionModel(data, self.noising)
        T = self.noising.horizon
        start = time.perf_counter()
        pinn = solve_finite_horizon(model, settings, Progress(settings.max_iterations, enabled=progress, label=self.name))
        seconds = time.perf_counter() - start
        start = time.perf_counter()
        dsm = train_score_matching(data.sample(self.train_samples, rng), self.noising, steps=self.dsm_steps,
                                   seed=settings.seed)
        dsm_seconds = time.perf_counter() - start

        x = model.domain.box.grid(self.grid_points)
        errors, dsm_errors = {}, {}
        for t in self.times:
            log_p = exact_log_density_and_score(data, self.noising, x, t)[0]
            where = np.exp(log_p) > DENSITY_FLOOR
            errors[f"{t:g}"] = rel_l2(pinn.value(model.domain.at_time(x[where], t)), log_p[where])
            dsm_errors[f"{t:g}"] = rel_l2(dsm.log_density(x[where], T - t), log_p[where])
        t_score = T - 0.1
        log_p, score = exact_log_density_and_score(data, self.noising, x, t_score)
        where = np.exp(log_p) > DENSITY_FLOOR
        score_error = rel_l2(pinn.gradient(model.domain.at_time(x, t_score))[where], score[where])
        dsm_score_error = rel_l2(dsm.score(x[where], T - t_score), score[where])

        fresh, other = data.sample(self.samples, rng), data.sample(self.samples, rng)
        reference = energy_distance(fresh, other)
        control = learned_control(pinn)
        ours_samples = sample(model, control, self.samples, rng, steps=self.sampler_steps)
        dsm_samples = dsm.sample(self.samples, rng, steps=self.sampler_steps)

        def value(xt: np.ndarray) -> np.ndarray:  # the cost-to-go V = −W
            return -pinn.value(xt)

        x0 = np.asarray(self.identity_x, dtype=float)
        checks = {amp: verification_identity(model, value, control, SinePerturbation(amp), x0, self.identity_t,
                                             self.identity_paths, rng, self.identity_steps)
                  for amp in (0.0, self.perturbation)}
        perturbed = checks[self.perturbation]
        metrics = {
            "log_density_rel_l2": max(errors.values()),
            "score_rel_l2": score_error,
            "energy_ratio": energy_distance(ours_samples, fresh) / reference,
            "identity_abs_z": abs(perturbed.z),
        }
        details = {
            "log_density_rel_l2_by_time": errors, "score_time": t_score, "data_energy_distance": reference,
            "identity_z": perturbed.z, "identity_gap": perturbed.gap, "identity_gap_over_stderr": perturbed.gap / perturbed.stderr,
            "identity_value": perturbed.value, "identity_difference": perturbed.difference, "identity_stderr": perturbed.stderr,
            "identity_z_unperturbed": checks[0.0].z,
            "dsm_log_density_rel_l2": max(dsm_errors.values()), "dsm_log_density_rel_l2_by_time": dsm_errors,
            "dsm_score_rel_l2": dsm_score_error, "dsm_energy_ratio": energy_distance(dsm_samples, fresh) / reference,
            "dsm_seconds": dsm_seconds, "dsm_settings": dsm.settings, "train_samples": self.train_samples,
        }
        grid = model.domain.box.grid(201 if data.dim == 1 else 61)
        return {
            **self.describe(), "settings": settings.to_dict(), "grid_points": self.grid_points, **metrics, **details,
            "iterations": len(pinn.history), "seconds": seconds, "status": pinn.status, "error": None,
            "passed": passed(metrics, self.tolerances),
            "arrays": {
                "x": grid, "times": list(self.times), "box": model.domain.box,
                "log_density": [pinn.value(model.domain.at_time(grid, t)) for t in self.times],
                "log_density_reference": [exact_log_density_and_score(data, self.noising, grid, t)[0] for t in self.times],
                "data_density": np.exp(exact_log_density_and_score(data, self.noising, grid, T)[0]),
                "samples": {"data": fresh, "PINN-HJB": ours_samples, "DSM": dsm_samples},
                "history": pinn.history,
            },
        }
