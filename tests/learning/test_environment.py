"""The Environment contract (hjb.learning.environment): shapes checked on reset and step (check_shapes fails before
any learning), one-line ProblemErrors for bad dt, discount and bounds, actions clipped into the bounds."""
import numpy as np
import pytest

from hjb.errors import ProblemError, ShapeError
from hjb.geometry.box import Box
from hjb.learning.environment import Environment


def make(step=None, reset=None, **overrides) -> Environment:
    """A 2-D state, 1-D action environment: x' = x + a·dt in both components, r = −|x|²."""
    options = {"name": "toy", "dt": 0.1, "discount": 0.5, "domain": Box([-1, -1], [1, 1]), "action_low": [-1.0],
               "action_high": [1.0]}
    options.update(overrides)
    return Environment(reset=reset or (lambda n, rng: rng.uniform(-1, 1, size=(n, 2))),
                       step=step or (lambda x, a, dt, rng: (x + a * dt, -(x**2).sum(1))), **options)


def test_a_well_formed_environment_passes_check_shapes_and_clips_actions():
    env = make().check_shapes()
    assert (env.state_dim, env.action_dim, env.state_names, env.action_names) == (2, 1, ("x0", "x1"), ("a0",))
    x = np.zeros((3, 2))
    x_next, r = env.step(x, np.array([-5.0, 0.5, 5.0]), np.random.default_rng(0))  # (n,) read as (n, 1)
    np.testing.assert_allclose(x_next[:, 0], [-0.1, 0.05, 0.1])
    assert r.shape == (3,)
    assert env.describe()["kind"] == "Environment" and env.describe()["domain"]["lo"] == [-1.0, -1.0]


@pytest.mark.parametrize("step, pattern", [
    (lambda x, a, dt, rng: (x[:, :1], np.zeros(len(x))), r"x_next of shape \(4, 1\); expected \(4, 2\)"),
    (lambda x, a, dt, rng: (x, np.zeros((len(x), 2))), r"reward of shape \(4, 2\); expected \(4,\)"),
    (lambda x, a, dt, rng: x, r"must return \(x_next, reward\); got ndarray"),
])
def test_a_step_of_the_wrong_shape_raises_shape_error_from_check_shapes(step, pattern):
    with pytest.raises(ShapeError, match=pattern):
        make(step=step).check_shapes()


def test_a_reset_of_the_wrong_shape_or_non_finite_raises_shape_error():
    with pytest.raises(ShapeError, match=r"reset of environment 'toy' returned shape \(4, 3\)"):
        make(reset=lambda n, rng: np.zeros((n, 3))).check_shapes()
    with pytest.raises(ShapeError, match="non-finite"):
        make(reset=lambda n, rng: np.full((n, 2), np.nan)).check_shapes()


def test_a_step_given_states_or_actions_of_the_wrong_shape_raises_shape_error():
    env, rng = make(), np.random.default_rng(0)
    with pytest.raises(ShapeError, match=r"got x of shape \(3, 1\)"):
        env.step(np.zeros((3, 1)), np.zeros((3, 1)), rng)
    with pytest.raises(ShapeError, match=r"a of shape \(3, 2\)"):
        env.step(np.zeros((3, 2)), np.zeros((3, 2)), rng)


@pytest.mark.parametrize("overrides, pattern", [
    ({"dt": 0.0}, "dt must be a finite number > 0; got 0.0"),
    ({"dt": float("nan")}, "dt must be a finite number > 0"),
    ({"discount": -0.1}, "discount must be a finite number > 0; got -0.1"),
    ({"discount": float("inf")}, "discount must be a finite number > 0"),
    ({"action_low": [1.0], "action_high": [1.0]}, "action_low < action_high"),
    ({"action_low": [np.nan], "action_high": [1.0]}, "action_low < action_high"),
    ({"action_low": [0.0, 0.0], "action_high": [1.0]}, "two equal-length lists"),
    ({"action_low": [], "action_high": []}, "two equal-length lists"),
    ({"name": ""}, "non-empty string"),
    ({"domain": [(-1, 1)]}, "domain must be an hjb Box; got list"),
])
def test_bad_settings_raise_one_line_problem_errors(overrides, pattern):
    with pytest.raises(ProblemError, match=pattern) as info:
        make(**overrides)
    assert "\n" not in str(info.value)


def test_check_shapes_with_unbounded_or_half_bounded_actions_steps_inside_the_bounds():
    """−inf + inf must not turn into a NaN action (nor a floating-point error under np.seterr(all="raise"))."""
    seen = []

    def step(x, a, dt, rng):
        seen.append(a.copy())
        return x, np.zeros(len(x))

    make(step=step, action_low=[-np.inf, 1.0, 0.5], action_high=[np.inf, np.inf, 2.5]).check_shapes()
    np.testing.assert_array_equal(seen[0], np.tile([0.0, 1.0, 1.5], (4, 1)))
