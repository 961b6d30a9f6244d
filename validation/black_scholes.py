"""Black–Scholes closed forms: a European call's and put's price and Δ = ∂V/∂S at spot S, time to maturity τ, strike K,
rate r and volatility σ (no dividends)."""
from __future__ import annotations

import numpy as np
from scipy.stats import norm


def _d1_d2(S: np.ndarray, tau: np.ndarray, K: float, r: float, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    S, tau = np.maximum(np.asarray(S, dtype=float), 1e-300), np.maximum(np.asarray(tau, dtype=float), 1e-300)
    d1 = (np.log(S / K) + (r + 0.5 * sigma**2) * tau) / (sigma * np.sqrt(tau))
    return d1, d1 - sigma * np.sqrt(tau)


def call_price(S, tau, K: float, r: float, sigma: float) -> np.ndarray:
    """C = S·N(d₁) − K·e^{−rτ}·N(d₂) (n,); at τ = 0 the payoff max(S − K, 0)."""
    S, tau = np.asarray(S, dtype=float), np.asarray(tau, dtype=float)
    d1, d2 = _d1_d2(S, tau, K, r, sigma)
    price = S * norm.cdf(d1) - K * np.exp(-r * tau) * norm.cdf(d2)
    return np.where(tau > 0, price, np.maximum(S - K, 0.0))


def call_delta(S, tau, K: float, r: float, sigma: float) -> np.ndarray:
    """∂C/∂S = N(d₁) (n,), for τ > 0."""
    return norm.cdf(_d1_d2(S, tau, K, r, sigma)[0])


def put_price(S, tau, K: float, r: float, sigma: float) -> np.ndarray:
    """P = C − S + K·e^{−rτ} (put–call parity) (n,)."""
    return call_price(S, tau, K, r, sigma) - np.asarray(S, dtype=float) + K * np.exp(-r * np.asarray(tau, dtype=float))


def put_delta(S, tau, K: float, r: float, sigma: float) -> np.ndarray:
    """∂P/∂S = N(d₁) − 1 (n,)."""
    return call_delta(S, tau, K, r, sigma) - 1.0
