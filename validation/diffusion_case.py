"""Diffusion validation case: the log-density HJB of VP noising of a Gaussian mixture, solved by PINN policy
iteration, next to denoising score matching (DSM) trained on samples of the same law and to the same PINN trained
only from those samples (kernel-density terminal condition); all measured against the mixture's exact noised
marginals (MATH.md §5), by energy distance to fresh data, and (PINN) by the verification identity
J(u) = V + ½E∫|u − u*|² for a perturbed control."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from hjb.pdes.data_laws import GaussianMixture
from hjb.pdes.noising import VPNoising
from hjb.settings import FiniteHorizonSettings
from hjb.validation.cases import check_tolerances, fit_seconds, passed
from hjb.validation.metrics import rel_l2

METRICS = ("log_density_rel_l2", "score_rel_l2", "energy_ratio", "identity_abs_z")
DENSITY_FLOOR = 1e-3  # errors are measured where p_{T−t} > DENSITY_FLOOR
# Each method's log p_{T−t}(x) (n,) and score (n, d) at x (n, d) and reverse time t.
Estimate = tuple[Callable[[np.ndarray, float], np.ndarray], Callable[[np.ndarray, float], np.ndarray]]


def exact_log_density_and_score(data: GaussianMixture, noising: VPNoising, x: np.ndarray, t: float):
    """log p_{T−t}(x) (n,) and ∇ log p_{T−t}(x) (n, d) from the mixture's exact noised marginal."""
    law = data.noised(float(noising.alpha(noising.horizon - t)))
    xg = torch.tensor(x, requires_grad=True)
    log_p = law.log_density(xg)
    return log_p[:, 0].detach().numpy(), torch.autograd.grad(log_p.sum(), xg)[0].numpy()


def log_density_errors(data: GaussianMixture, noising: VPNoising, x: np.ndarray, times, estimate: Estimate) -> dict:
    """{t: rel L2 of the estimated against the exact log p_{T−t} on the x (n, d) where p_{T−t} > DENSITY_FLOOR}."""
    errors = {}
    for t in times:
        exact = exact_log_density_and_score(data, noising, x, t)[0]
        where = np.exp(exact) > DENSITY_FLOOR
        errors[f"{t:g}"] = rel_l2(estimate[0](x[where], t), exact[where])
    return errors


def score_error(data: GaussianMixture, noising: VPNoising, x: np.ndarray, t: float, estimate: Estimate) -> float:
    """Rel L2 of the estimated against the exact ∇ log p_{T−t} (n, d) on the x where p_{T−t} > DENSITY_FLOOR."""
    log_p, score = exact_log_density_and_score(data, noising, x, t)
    where = np.exp(log_p) > DENSITY_FLOOR
    return rel_l2(estimate[1](x[where], t), score[where])


def pinn_estimate(solution) -> Estimate:
    """log p_{T−t} = W and its score ∇W from a solved log-density HJB (a finite-horizon Solution)."""
    domain = solution.problem.domain
    return (lambda x, t: solution.value(domain.at_time(x, t)), lambda x, t: solution.gradient(domain.at_time(x, t)))


def dsm_estimate(dsm, horizon: float) -> Estimate:
    """log p_s (probability-flow ODE) and the score network s_θ of a ScoreModel, at noising time s = T − t."""
    return (lambda x, t: dsm.log_density(x, horizon - t), lambda x, t: dsm.score(x, horizon - t))


def timed(run: Callable[[], Any]) -> tuple[Any, float]:
    """run()'s result and its wall seconds."""
    start = time.perf_counter()
    out = run()
    return out, time.perf_counter() - start


class SinePerturbation:
    """δ(x, t) = amplitude·sin(x) (n, d), componentwise: a bounded perturbation of the optimal control."""

    def __init__(self, amplitude: float):
        self.amplitude = float(amplitude)

    def __call__(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.amplitude * torch.sin(x)


@dataclass(frozen=True)
class DiffusionCase:
    """data_factory() (a GaussianMixture) noised by `noising`: the PINN (settings; exact log p_data and moments),
    and, if `baselines`, DSM (dsm_steps Adam steps on train_samples data samples) and the PINN from those same samples
    (SampleLaw: kernel-density terminal condition, sample moments; same settings and box), compared on
    box.grid(grid_points) at `times` (log-density), at T − 0.1 (score), by the energy distance of `energy_sets` sets
    of `samples` draws to fresh data (÷ that between two data sets of the same size, averaged over the sets), and the identity at (identity_x, identity_t)
    with `identity_paths` paths for δ = perturbation·sin x (PINN only)."""

    name: str
    data_factory: Callable[[], GaussianMixture]
    noising: VPNoising
    settings: FiniteHorizonSettings
    grid_points: int
    times: tuple[float, ...] = (0.0, 1.0, 1.5, 1.9)
    dsm_steps: int = 40000
    train_samples: int = 10000
    samples: int = 5000
    energy_sets: int = 8
    sampler_steps: int = 500
    identity_x: tuple[float, ...] = (0.5,)
    identity_t: float = 0.5
    identity_paths: int = 4000
    identity_steps: int = 400
    perturbation: float = 0.5
    tolerances: dict[str, float] = field(default_factory=dict)
    baselines: bool = True
    kind = "diffusion"

    def __post_init__(self):
        check_tolerances(self.name, self.tolerances, METRICS)

    def cost(self) -> float:
        """≈ seconds on one core: the PINNs (fit_seconds on (x, t), each), DSM (≈ 32 s per 2·10⁴ steps) and the
        samples-PINN's kernel-density sampler (samples × train_samples × sampler_steps kernels, ≈ 3.4·10⁸ a
        second, as measured on mixture1d)."""
        s = self.settings
        pinn = fit_seconds(s.collocation, len(self.identity_x) + 1, s.width, s)
        kde = self.samples * self.train_samples * self.sampler_steps / 3.4e8
        return pinn + (self.dsm_steps * 1.6e-3 + pinn + kde if self.baselines else 0.0)

    def describe(self) -> dict[str, Any]:
        """JSON-ready summary: name, kind, data law, noising, times, tolerances."""
        return {"name": self.name, "kind": self.kind, "data": self.data_factory().to_dict(),
                "noising": self.noising.to_dict(), "times": list(self.times), "tolerances": dict(self.tolerances)}

    def run(self, seed: int | None = None, progress: bool = True) -> dict:
        """Solve by PINN and (baselines) by DSM and the PINN from samples (none sees the exact marginals), then
        measure all against them."""
        from hjb.pdes.diffusion_model import DiffusionModel
        from hjb.progress import Progress
        from hjb.solvers.finite_horizon import solve_finite_horizon

        settings = self.settings if seed is None else self.settings.replace(seed=seed)
        rng = np.random.default_rng(settings.seed)
        data = self.data_factory()
        model = DiffusionModel(data, self.noising)

        def solve(problem, label):
            bar = Progress(settings.max_iterations, enabled=progress, label=label)
            return solve_finite_horizon(problem, settings, bar)

        pinn, seconds = timed(lambda: solve(model, self.name))
        train = data.sample(self.train_samples, rng)
        solutions = {"": (model, pinn)}
        out = {"seconds": seconds, "train_samples": self.train_samples}
        if self.baselines:
            self._baselines(model, train, settings.seed, solve, solutions, out)
        out.update(self._accuracy(data, model, {k: v for k, (_, v) in solutions.items()}))
        samples = self._sampling(data, solutions, rng, out)
        return self._result(data, model, pinn, settings, out, samples, train)

    def _baselines(self, model, train: np.ndarray, seed: int, solve, solutions: dict, out: dict) -> None:
        """DSM on the train samples, and the PINN from the same samples (SampleLaw, same settings and the same box as
        the exact model, so that both are measured on the same grid), into solutions and out."""
        from hjb.baselines.score_matching import train_score_matching
        from hjb.pdes.data_laws import SampleLaw
        from hjb.pdes.diffusion_model import DiffusionModel

        dsm, out["dsm_seconds"] = timed(lambda: train_score_matching(train, self.noising, steps=self.dsm_steps, seed=seed))
        solutions["dsm_"] = (None, dsm)
        out["dsm_settings"] = dsm.settings
        law = SampleLaw(train)
        from_samples = DiffusionModel(law, self.noising, domain=model.domain.box, name=f"{self.name}_from_samples")
        solution, out["samples_pinn_seconds"] = timed(lambda: solve(from_samples, f"{self.name} from samples"))
        solutions["samples_pinn_"] = (from_samples, solution)
        out.update(samples_pinn_iterations=len(solution.history), samples_pinn_status=solution.status,
                   samples_pinn_bandwidth=law.bandwidth.tolist())

    def _accuracy(self, data: GaussianMixture, model, solutions: dict) -> dict:
        """Per method (key prefix): log p rel L2 per time and worst, score rel L2 at T − 0.1; and the samples-PINN's
        terminal error (its KDE log p_data against the exact one)."""
        T = self.noising.horizon
        x = model.domain.box.grid(self.grid_points)
        out = {"score_time": T - 0.1}
        for prefix, solution in solutions.items():
            estimate = dsm_estimate(solution, T) if prefix == "dsm_" else pinn_estimate(solution)
            errors = log_density_errors(data, self.noising, x, self.times, estimate)
            out[f"{prefix}log_density_rel_l2"] = max(errors.values())
            out[f"{prefix}log_density_rel_l2_by_time"] = errors
            out[f"{prefix}score_rel_l2"] = score_error(data, self.noising, x, T - 0.1, estimate)
            if prefix == "samples_pinn_":
                terminal = log_density_errors(data, self.noising, x, (T,), estimate)
                out["samples_pinn_terminal_rel_l2"] = terminal[f"{T:g}"]
        return out

    def _sampling(self, data: GaussianMixture, solutions: dict, rng: np.random.Generator, out: dict) -> dict:
        """`energy_sets` sets of `samples` draws per method (one for the samples-PINN, whose kernel-density sampler
        takes minutes per set) and their energy distance to fresh data ÷ that between two data sets
        (validation.energy.energy_ratios), and the PINN's identity check, into out (with the seconds of one set).
        The samples-PINN draws last, after the identity check."""
        from hjb.montecarlo.sampler import learned_control, sample
        from hjb.validation.energy import energy_ratios

        model, pinn = solutions[""]
        control = learned_control(pinn)  # its float32 copy of the network, made once for all sets
        sets = {"PINN-HJB": [], **({"DSM": []} if "dsm_" in solutions else {})}
        for _ in range(self.energy_sets):
            drawn, seconds = timed(lambda: sample(model, control, self.samples, rng, steps=self.sampler_steps))
            sets["PINN-HJB"].append(drawn)
            out["sample_seconds"] = seconds
            if "DSM" in sets:
                drawn, seconds = timed(lambda: solutions["dsm_"][1].sample(self.samples, rng, steps=self.sampler_steps))
                sets["DSM"].append(drawn)
                out["dsm_sample_seconds"] = seconds
        out.update(self._identity(model, pinn, rng))
        if "samples_pinn_" in solutions:
            model, solution = solutions["samples_pinn_"]
            drawn, out["samples_pinn_sample_seconds"] = timed(
                lambda: sample(model, learned_control(solution), self.samples, rng, steps=self.sampler_steps))
            sets["PINN from samples"] = [drawn]
        ratios, out["data_energy_distance"] = energy_ratios(sets, lambda n: data.sample(n, rng))
        for prefix, label in (("", "PINN-HJB"), ("dsm_", "DSM"), ("samples_pinn_", "PINN from samples")):
            if label in ratios:
                out[f"{prefix}energy_ratio"] = ratios[label]
        out["energy_sets"] = self.energy_sets
        return {"data": data.sample(self.samples, rng), **{label: found[0] for label, found in sets.items()}}

    def _identity(self, model, pinn, rng: np.random.Generator) -> dict:
        """The verification identity at (identity_x, identity_t) for δ = 0 and δ = perturbation·sin x."""
        from hjb.montecarlo.sampler import learned_control, verification_identity

        def value(xt: np.ndarray) -> np.ndarray:  # the cost-to-go V = −W
            return -pinn.value(xt)

        x0, control = np.asarray(self.identity_x, dtype=float), learned_control(pinn)
        checks = {amp: verification_identity(model, value, control, SinePerturbation(amp), x0, self.identity_t,
                                             self.identity_paths, rng, self.identity_steps)
                  for amp in (0.0, self.perturbation)}
        p = checks[self.perturbation]
        return {"identity_abs_z": abs(p.z), "identity_z": p.z, "identity_gap": p.gap,
                "identity_gap_over_stderr": p.gap / p.stderr, "identity_value": p.value, "identity_difference": p.difference, "identity_stderr": p.stderr,
                "identity_z_unperturbed": checks[0.0].z}

    def _result(self, data, model, pinn, settings, out: dict, samples: dict, train: np.ndarray) -> dict:
        """The JSON-ready result (metrics first, tolerances checked on the PINN's) with the arrays for the plots."""
        T = self.noising.horizon
        metrics = {key: out.pop(key) for key in METRICS}
        grid = model.domain.box.grid(201 if data.dim == 1 else 61)
        return {
            **self.describe(), "settings": settings.to_dict(), "grid_points": self.grid_points, **metrics, **out,
            "iterations": len(pinn.history), "status": pinn.status, "error": None,
            "passed": passed(metrics, self.tolerances),
            "arrays": {
                "x": grid, "times": list(self.times), "box": model.domain.box,
                "log_density": [pinn.value(model.domain.at_time(grid, t)) for t in self.times],
                "log_density_reference": [exact_log_density_and_score(data, self.noising, grid, t)[0] for t in self.times],
                "data_density": np.exp(exact_log_density_and_score(data, self.noising, grid, T)[0]),
                "samples": samples, "train_samples": train, "history": pinn.history,
            },
        }
