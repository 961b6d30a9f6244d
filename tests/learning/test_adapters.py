"""The adapters (hjb.learning.adapters): ProblemEnvironment's Euler–Maruyama transitions and rewards against the
LQR's closed forms, GymnasiumEnvironment on Pendulum-v1 and a terminating toy, and their refusals."""
import gymnasium
import numpy as np
import pytest
import torch

from hjb.errors import ProblemError
from hjb.geometry.box import Box
from hjb.learning.adapters import GymnasiumEnvironment, ProblemEnvironment
from hjb.learning.transitions import collect_transitions
from hjb.pdes.lqr import StochasticLQR, seed_lqr
from hjb.pdes.problem import ControlProblem


def lqr_env(**kwargs) -> ProblemEnvironment:
    return ProblemEnvironment(seed_lqr(), dt=0.01, action_low=-10, action_high=10, **kwargs)


@pytest.mark.parametrize("x0, a0, a_held", [(0.7, 1.5, 1.5), (-1.2, -3.0, -3.0), (0.3, 25.0, 10.0)])
def test_lqr_increments_have_the_euler_mean_and_variance_and_the_action_is_clipped(x0, a0, a_held):
    """x' − x at a fixed (x, a) is N((Ax + Ba)·dt, D²·dt) for the seed LQR (A = −0.5, B = 1, D = 0.3): mean and
    variance within 4 standard errors over 200 000 draws; an action past the bound acts as the bound."""
    env, n = lqr_env(), 200_000
    x = np.full((n, 1), x0)
    x_next, r = env.step(x, np.full((n, 1), a0), np.random.default_rng(3))
    step = (x_next - x)[:, 0]
    mean, var = (-0.5 * x0 + a_held) * env.dt, 0.3**2 * env.dt
    assert abs(step.mean() - mean) < 4 * np.sqrt(var / n)
    assert abs(step.var(ddof=1) - var) < 4 * var * np.sqrt(2 / (n - 1))
    np.testing.assert_allclose(r, -0.5 * (x0**2 + 0.1 * a_held**2), rtol=1e-14)


def test_lqr_reward_is_minus_half_the_quadratic_cost_and_the_environment_carries_the_problem():
    env, rng = lqr_env(), np.random.default_rng(0)
    x, a = rng.uniform(-2, 2, size=(50, 1)), rng.uniform(-10, 10, size=(50, 1))
    _, r = env.step(x, a, rng)
    np.testing.assert_allclose(r, -0.5 * (x[:, 0] ** 2 + 0.1 * a[:, 0] ** 2), rtol=1e-14)
    assert (env.kind, env.name, env.discount, env.state_dim, env.action_dim) == ("ProblemEnvironment", "lqr1d", 0.1,
                                                                                 1, 1)
    assert env.domain.to_dict() == seed_lqr().domain.to_dict() and env.state_names == ("x0",)
    assert env.describe()["action_low"] == [-10.0]


def test_noise_comes_from_the_rng_passed_in():
    env, x, a = lqr_env(), np.zeros((5, 1)), np.ones((5, 1))
    first = env.step(x, a, np.random.default_rng(7))[0]
    torch.manual_seed(123)  # torch's own generator plays no part
    np.testing.assert_array_equal(first, env.step(x, a, np.random.default_rng(7))[0])
    assert not np.array_equal(first, env.step(x, a, np.random.default_rng(8))[0])


def test_reset_is_uniform_on_the_domain_or_the_initial_law_or_the_given_one():
    x = lqr_env().reset(20_000, np.random.default_rng(0))
    assert x.shape == (20_000, 1) and -2 <= x.min() and x.max() <= 2
    assert abs(x.mean()) < 4 * np.sqrt(16 / 12 / len(x))
    law = StochasticLQR(-0.5, 1, 1, 0.1, 0.3, 0.1, initial_law=lambda n, rng: rng.normal(5.0, 0.1, size=(n, 1)),
                        action_bounds=([-1], [1]))
    assert abs(ProblemEnvironment(law).reset(1000, np.random.default_rng(0)).mean() - 5.0) < 0.02
    fixed = lqr_env(reset=lambda n, rng: np.full((n, 1), 0.25))
    np.testing.assert_array_equal(fixed.reset(3, np.random.default_rng(0)), 0.25)


def test_bounds_default_to_the_problem_and_must_be_finite():
    bounded = StochasticLQR(-0.5, 1, 1, 0.1, 0.3, 0.1, action_bounds=([-2], [3]))
    env = ProblemEnvironment(bounded)
    assert env.action_low.tolist() == [-2.0] and env.action_high.tolist() == [3.0]
    with pytest.raises(ProblemError, match="declares no action bounds; pass action_low= and action_high="):
        ProblemEnvironment(seed_lqr())
    infinite = StochasticLQR(-0.5, 1, 1, 0.1, 0.3, 0.1, action_bounds=([-np.inf], [np.inf]))
    with pytest.raises(ProblemError, match="must be finite"):
        ProblemEnvironment(infinite)
    assert ProblemEnvironment(infinite, action_low=-1, action_high=1).action_high.tolist() == [1.0]


@pytest.mark.parametrize("boundary", ["exit", "reflect"])
def test_a_boundary_behaviour_is_refused(boundary):
    problem = ControlProblem(name="walled", drift=lambda x, a: a, diffusion=lambda x, a: torch.ones(len(x), 1, 1,
                             dtype=x.dtype), reward=lambda x, a: -(x**2), discount=1.0, domain=Box(-1, 1),
                             action_dim=1, action_bounds=([-1], [1]), boundary=boundary)
    with pytest.raises(ProblemError, match=f"boundary='{boundary}'.*not supported by the model-free adapter yet"):
        ProblemEnvironment(problem)


def test_on_a_log_box_the_step_is_taken_in_log_x():
    """dX = μX dt + σX dW on a log box: log x' − log x ~ N((μ − ½σ²)dt, σ²dt) exactly, and x' > 0."""
    mu, sigma, dt = 0.05, 0.4, 0.5
    problem = ControlProblem(name="gbm", drift=lambda x, a: mu * x, diffusion=lambda x, a: sigma * x.unsqueeze(-1),
                             reward=lambda x, a: torch.log(x), discount=0.5, domain=Box(0.5, 2.0, scale="log"),
                             action_dim=1, action_bounds=([0], [1]))
    env, n = ProblemEnvironment(problem, dt=dt), 100_000
    x = np.full((n, 1), 1.5)
    x_next, _ = env.step(x, np.zeros((n, 1)), np.random.default_rng(2))
    assert x_next.min() > 0
    u = np.log(x_next / x)[:, 0]
    assert abs(u.mean() - (mu - 0.5 * sigma**2) * dt) < 4 * sigma * np.sqrt(dt / n)
    assert abs(u.var(ddof=1) - sigma**2 * dt) < 4 * sigma**2 * dt * np.sqrt(2 / (n - 1))


def pendulum_reward(x: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Pendulum-v1's reward per step at observation x = (cos θ, sin θ, θ') under torque u."""
    theta = np.arctan2(x[:, 1], x[:, 0])
    return -(theta**2 + 0.1 * x[:, 2] ** 2 + 0.001 * u**2)


def test_pendulum_steps_with_reward_per_step_over_dt():
    env = GymnasiumEnvironment("Pendulum-v1").check_shapes()
    assert (env.dt, env.state_dim, env.action_dim) == (0.05, 3, 1)
    assert env.action_low.tolist() == [-2.0] and env.domain.hi.tolist() == [1.0, 1.0, 8.0]
    rng = np.random.default_rng(0)
    x = env.reset(6, rng)
    assert x.shape == (6, 3) and np.allclose(x[:, 0] ** 2 + x[:, 1] ** 2, 1)
    a = np.linspace(-3, 3, 6)[:, None]  # ±3 is clipped to ±2
    x_next, r = env.step(x, a, rng)
    assert x_next.shape == (6, 3) and r.shape == (6,) and not np.allclose(x_next, x)
    np.testing.assert_allclose(r * env.dt, pendulum_reward(x, np.clip(a[:, 0], -2, 2)), rtol=1e-5)
    with pytest.raises(ProblemError, match="pass the states its last reset or step returned"):
        env.step(x, a, rng)
    t = collect_transitions(env, 500, rng, episode_steps=250)  # past the registered 200-step limit
    assert len(t) == 500 and np.all(t.a >= -2) and np.all(t.a <= 2)
    np.testing.assert_allclose(t.r * t.dt, pendulum_reward(t.x, t.a[:, 0]), rtol=1e-5)


def test_a_discrete_action_space_is_refused_in_one_line():
    with pytest.raises(ProblemError) as info:
        GymnasiumEnvironment("CartPole-v1")
    assert str(info.value) == "the continuous methods need a gymnasium Box action space; got Discrete(2)"
    with pytest.raises(ProblemError, match="got Discrete\\(3\\)$"):
        GymnasiumEnvironment("MountainCar-v0")


class Countdown(gymnasium.Env):
    """x' = x + a per step, reward 1, terminating once x ≥ 3; unbounded observations, no time step."""

    observation_space = gymnasium.spaces.Box(-np.inf, np.inf, shape=(1,))
    action_space = gymnasium.spaces.Box(0.0, 1.0, shape=(1,))

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.x = np.zeros(1, dtype=np.float32)
        return self.x.copy(), {}

    def step(self, action):
        self.x = self.x + np.asarray(action, dtype=np.float32)
        return self.x.copy(), 1.0, bool(self.x[0] >= 3), False, {}


def test_a_terminated_copy_is_absorbing_and_an_unbounded_or_untimed_env_needs_domain_and_dt():
    with pytest.raises(ProblemError, match="unbounded; pass domain="):
        GymnasiumEnvironment(Countdown(), dt=0.5)
    with pytest.raises(ProblemError, match="declares no time step .* pass dt="):
        GymnasiumEnvironment(Countdown(), domain=Box(0, 5))
    with pytest.raises(ProblemError, match="disagrees with the environment's own time step"):
        GymnasiumEnvironment("Pendulum-v1", dt=0.1)
    env = GymnasiumEnvironment(Countdown(), dt=0.5, discount=0.2, domain=Box(0, 5))
    rng = np.random.default_rng(0)
    x = env.reset(2, rng)
    rewards = []
    for _ in range(5):  # copy 0 moves by 1 and terminates at 3; copy 1 by 0.5
        x_next, r = env.step(x, np.array([[1.0], [0.5]]), rng)
        rewards.append(r)
        x = x_next
    np.testing.assert_array_equal(x[:, 0], [3.0, 2.5])
    np.testing.assert_array_equal(np.array(rewards)[:, 0], [2, 2, 2, 0, 0])  # 1 per step / dt, then nothing
    np.testing.assert_array_equal(np.array(rewards)[:, 1], [2] * 5)
    assert env.reset(2, rng)[:, 0].tolist() == [0.0, 0.0]
