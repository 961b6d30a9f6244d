"""A 1-D LQR declared as a model-free Environment (plain numpy step and reward; the learner sees transitions only),
learnt at default settings and checked against its Riccati gain.

dX = (0.3X + a) dt + 0.4 dW, reward rate r = −(X² + ½a²), ρ = 0.2, |a| ≤ 6, learnt on [−2, 2] from steps of 0.002.
Closed form (Q = 2, R = 1 in r = −½(Qx² + Ra²)): P = (A − ρ/2)R/B² + √(((A − ρ/2)R/B²)² + QR/B²) = 1.62829, K* = BP/R.
The learner converges to the optimum of the sampled chain, whose gain differs from K* by about Δt·B²P/R = 0.3 %.

    python examples/learn_lqr_env.py                  (about four minutes on one core)
    hjb learn examples/learn_lqr_env.py --out runs/learn_lqr_env
"""
import numpy as np

from hjb.geometry import Box
from hjb.learning.environment import Environment

A, B, SIGMA, RHO = 0.3, 1.0, 0.4, 0.2


def reset(n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.uniform(-2.0, 2.0, (n, 1))


def step(x: np.ndarray, a: np.ndarray, dt: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One Euler–Maruyama step of dX = (AX + Ba)dt + σdW, and the reward rate −(x² + ½a²) (n,)."""
    x_next = x + (A * x + B * a) * dt + SIGMA * np.sqrt(dt) * rng.standard_normal(x.shape)
    return x_next, -(x[:, 0] ** 2 + 0.5 * a[:, 0] ** 2)


env = Environment(name="lqr_env", reset=reset, step=step, dt=0.002, discount=RHO, domain=Box(-2.0, 2.0),
                  action_low=[-6.0], action_high=[6.0], state_names=["x"], action_names=["a"])


def main() -> dict:
    from hjb.learning.learner import learn
    from hjb.learning.transitions import collect_transitions
    from hjb.settings import QLEARNING_SETTINGS as settings

    rows = collect_transitions(env, settings.transitions, np.random.default_rng(settings.seed), settings.episode_steps)
    learned = learn(rows, env.domain, env.action_low, env.action_high, env.discount, settings, name=env.name)
    x = np.linspace(-1.0, 1.0, 41)[:, None]  # |K*x| ≤ 1.7 < 6: the bounds never bind here
    gain = -np.polyfit(x[:, 0], learned.policy(x)[:, 0], 1)[0]
    q, r = 2.0, 1.0
    shift = (A - RHO / 2) * r / B**2
    K = B * (shift + np.sqrt(shift**2 + q * r / B**2)) / r
    print(f"status {learned.status} from {len(rows)} transitions")
    print(f"learned gain K ≈ {gain:.5f} (Riccati {K:.5f}), relative error {abs(gain / K - 1):.2e}")
    return {"gain": gain, "K": K, "status": learned.status}


if __name__ == "__main__":
    main()
