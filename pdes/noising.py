"""The forward noising SDE of a diffusion model: VP/OU dY = −½β(s)Y ds + √β(s) dB on [0, T]."""
from __future__ import annotations

import math

import numpy as np
import torch

from hjb.errors import ProblemError

Tensor = torch.Tensor


class VPNoising:
    """Variance-preserving OU noising with the linear schedule β(s) = β_min + (β_max − β_min)·s/T, s ∈ [0, T].

    Y_s = α_s Y_0 + √(1 − α_s²) Z with α_s = exp(−½∫_0^s β); β_min = β_max gives the constant-β OU process.
    """

    def __init__(self, beta_min: float = 1.0, beta_max: float | None = None, horizon: float = 1.0):
        beta_max = beta_min if beta_max is None else beta_max
        try:
            b0, b1, T = float(beta_min), float(beta_max), float(horizon)
        except (TypeError, ValueError):
            raise ProblemError(f"β schedule and horizon must be numbers; got {beta_min!r}, {beta_max!r}, {horizon!r}") from None
        if not (math.isfinite(T) and T > 0):
            raise ProblemError(f"the horizon T must be a positive number; got {horizon!r}")
        if not (math.isfinite(b0) and math.isfinite(b1) and b0 > 0 and b1 > 0):
            raise ProblemError(f"the β schedule must be positive on [0, T]; got β_min={beta_min!r}, β_max={beta_max!r}")
        self.beta_min, self.beta_max, self.horizon = b0, b1, T

    def __repr__(self) -> str:
        return f"VPNoising(beta_min={self.beta_min}, beta_max={self.beta_max}, horizon={self.horizon})"

    def to_dict(self) -> dict:
        """JSON-ready {beta_min, beta_max, horizon}."""
        return {"beta_min": self.beta_min, "beta_max": self.beta_max, "horizon": self.horizon}

    def beta(self, s):
        """β(s) (same shape as s; tensor or array)."""
        return self.beta_min + (self.beta_max - self.beta_min) * s / self.horizon

    def integrated_beta(self, s):
        """∫_0^s β = β_min s + ½(β_max − β_min) s²/T."""
        return self.beta_min * s + 0.5 * (self.beta_max - self.beta_min) * s * s / self.horizon

    def alpha(self, s):
        """Signal factor α_s = exp(−½∫_0^s β) (tensor or array like s)."""
        lib = torch if isinstance(s, Tensor) else np
        return lib.exp(-0.5 * self.integrated_beta(s))

    def noise(self, y0: np.ndarray, s: float, rng: np.random.Generator) -> np.ndarray:
        """Exact samples of Y_s given Y_0 = y0 (n, d): α_s y0 + √(1 − α_s²) Z."""
        a = float(self.alpha(s))
        return a * y0 + math.sqrt(1.0 - a * a) * rng.standard_normal(y0.shape)
