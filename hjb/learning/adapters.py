"""Environments from elsewhere: a ControlProblem simulated by Euler–Maruyama (ProblemEnvironment), and a gymnasium
environment with a Box action space (GymnasiumEnvironment). The learners see only their transitions."""
from __future__ import annotations

import copy
import math
import numbers
from collections.abc import Callable, Sequence

import numpy as np

from hjb.errors import ProblemError, ShapeError, positive
from hjb.geometry.box import Box
from hjb.learning.environment import Environment
from hjb.montecarlo.rollouts import initial_states
from hjb.montecarlo.simulate import ProblemStepper
from hjb.pdes.problem import ControlProblem

Reset = Callable[[int, np.random.Generator], np.ndarray]
GYM_GAMMA = 0.99  # the usual per-step discount of RL code; GymnasiumEnvironment's default ρ = −ln(γ)/dt


class ProblemEnvironment(Environment):
    """A ControlProblem as an Environment: step(x, a) -> (x' (n, d), r (n,)) with x' = one Euler–Maruyama step
    x + f(x, a)·dt + Σ(x, a)·ΔW, ΔW ~ N(0, dt·I_k) drawn from the rng (in log x on a log box), the action held over
    dt, and r = r(x, a) the problem's reward rate at the start state; discount ρ, domain and names the problem's;
    bounds the problem's action bounds unless given (they must be finite: the learners explore on them); reset(n,
    rng) -> (n, d) the given one, else the problem's initial law, else uniform on the domain (in log x on a log
    box). A problem with boundary "exit" or "reflect" is refused: the adapter neither stops nor reflects paths.
    dt defaults to 0.002: the learners find the sampled chain's optimum, O(dt) from the continuous one (the seed
    LQR's gain 2.7% off at dt = 0.01, 0.5% at 0.002)."""

    kind = "ProblemEnvironment"

    def __init__(self, problem: ControlProblem, dt: float = 0.002, action_low: Sequence[float] | None = None,
                 action_high: Sequence[float] | None = None, reset: Reset | None = None, name: str | None = None):
        if not isinstance(problem, ControlProblem):
            raise ProblemError(f"ProblemEnvironment needs an hjb ControlProblem; got {type(problem).__name__}")
        if problem.boundary != "none":
            raise ProblemError(f"problem {problem.name!r} has boundary={problem.boundary!r}, which is not supported by "
                               "the model-free adapter yet; expected boundary='none'")
        self.problem = problem
        self.noise_dim = problem.check_shapes()
        low, high = _problem_bounds(problem, action_low, action_high)
        super().__init__(name=name or problem.name, reset=reset or self._default_reset, step=ProblemStepper(problem), dt=dt,
                         discount=problem.discount, domain=problem.domain, action_low=low, action_high=high,
                         state_names=problem.state_names, action_names=problem.action_names)

    def _default_reset(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n start states (n, d): the problem's initial law, else uniform on its domain."""
        if self.problem.initial_law is not None:
            return initial_states(self.problem, n, rng)
        return self.domain.from_unit(rng.uniform(size=(n, self.state_dim)))

    def describe(self) -> dict:
        """Environment.describe plus the problem's name."""
        return {**super().describe(), "problem": self.problem.name}


def _problem_bounds(problem: ControlProblem, low, high) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) (m,): each given one, else the problem's; ProblemError where one is missing or infinite."""
    declared = problem.action_bounds or (None, None)
    low = declared[0] if low is None else low
    high = declared[1] if high is None else high
    if low is None or high is None:
        raise ProblemError(f"problem {problem.name!r} declares no action bounds; pass action_low= and action_high= "
                           "(finite: the model-free learners explore uniformly on them)")
    bounds = tuple(np.broadcast_to(np.asarray(b, dtype=float), (problem.action_dim,)) for b in (low, high))
    if not all(np.all(np.isfinite(b)) for b in bounds):
        raise ProblemError(f"action bounds of {problem.name!r} must be finite; got {bounds[0].tolist()}, "
                           f"{bounds[1].tolist()}: pass finite action_low= and action_high=")
    return bounds


class GymnasiumEnvironment(Environment):
    """A gymnasium environment (an instance or an id) with Box action and observation spaces as an Environment.

    reset(n, rng) makes n copies of it (gymnasium.make of its spec, else deep copies), each seeded from rng, and
    returns their observations (n, d); step(x, a) steps every copy once with its row of a and returns
    (observations (n, d), reward / dt (n,)), the reward per step turned into a rate. Observations and actions are
    flattened. dt is env.unwrapped.dt or .tau (an explicit dt must agree), else the dt argument; discount ρ defaults
    to −ln(0.99)/dt (γ = 0.99 per step); domain defaults to the observation Box, which must then be finite.

    Limits: a copy cannot be put into an arbitrary state, so step(x, a) must be given exactly the states its last
    reset or step returned (else ProblemError): the copies are stepped in lockstep, as collect_transitions does.
    The copies step the unwrapped environment, without its registered time limit (a discounted problem has no
    horizon; the caller chooses the episode length). A copy that terminates is absorbing until the next reset:
    its later steps return x' = x and r = 0 (no reward after termination), so that no transition ever spans a reset.
    """

    kind = "GymnasiumEnvironment"

    def __init__(self, env, dt: float | None = None, discount: float | None = None, domain: Box | None = None,
                 name: str | None = None):
        import gymnasium

        prototype = gymnasium.make(env) if isinstance(env, str) else env
        if not isinstance(prototype, gymnasium.Env):
            raise ProblemError(f"GymnasiumEnvironment needs a gymnasium.Env or an environment id; got "
                               f"{type(env).__name__}")
        actions, observations = prototype.action_space, prototype.observation_space
        if not isinstance(actions, gymnasium.spaces.Box):
            raise ProblemError(f"the continuous methods need a gymnasium Box action space; got {actions}")
        if not isinstance(observations, gymnasium.spaces.Box):
            raise ProblemError(f"the continuous methods need a gymnasium Box observation space; got {observations}")
        self.prototype, self.spec = prototype, prototype.spec
        self._action_shape, self._action_dtype = actions.shape, actions.dtype
        self._copies: list = []
        self._state = np.zeros((0, int(np.prod(observations.shape))))
        self._done = np.zeros(0, dtype=bool)
        dt = _gym_dt(prototype, dt)
        if domain is None:
            low, high = (np.asarray(b, dtype=float).reshape(-1) for b in (observations.low, observations.high))
            if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high))):
                raise ProblemError(f"the observation space {observations} is unbounded; pass domain=Box(lo, hi), the "
                                   "box where the value and policy are to be learnt")
            domain = Box(low, high)
        super().__init__(name=name or (self.spec.id if self.spec else type(prototype.unwrapped).__name__),
                         reset=self._reset_copies, step=self._step_copies, dt=dt,
                         discount=-math.log(GYM_GAMMA) / dt if discount is None else discount, domain=domain,
                         action_low=np.asarray(actions.low, dtype=float).reshape(-1),
                         action_high=np.asarray(actions.high, dtype=float).reshape(-1))

    def _copy(self):
        """A fresh copy of the environment, unwrapped (no time limit)."""
        import gymnasium

        if self.spec is not None:
            return gymnasium.make(self.spec).unwrapped
        return copy.deepcopy(self.prototype.unwrapped)

    def _observation(self, observation) -> np.ndarray:
        flat = np.asarray(observation, dtype=float).reshape(-1)
        if flat.shape != (self.state_dim,):
            raise ShapeError(f"environment {self.name!r} returned an observation of {flat.size} numbers; expected "
                             f"{self.state_dim}")
        return flat

    def _reset_copies(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n copies, each reset with its own seed drawn from rng; their observations (n, d)."""
        while len(self._copies) < n:
            self._copies.append(self._copy())
        del self._copies[n:]
        seeds = rng.integers(2**31, size=n)
        self._state = np.stack([self._observation(env.reset(seed=int(seed))[0])
                                for env, seed in zip(self._copies, seeds, strict=True)])
        self._done = np.zeros(n, dtype=bool)
        return self._state.copy()

    def _step_copies(self, x: np.ndarray, a: np.ndarray, dt: float, rng: np.random.Generator
                     ) -> tuple[np.ndarray, np.ndarray]:
        """Each copy stepped once with its action (terminated copies stay put with r = 0); reward per step / dt."""
        if x.shape != self._state.shape or not np.array_equal(x, self._state):
            raise ProblemError(f"environment {self.name!r} steps its {len(self._copies)} copies from their own states: "
                               "pass the states its last reset or step returned")
        x_next, reward = self._state.copy(), np.zeros(len(x))
        for i, env in enumerate(self._copies):
            if self._done[i]:
                continue
            action = a[i].reshape(self._action_shape).astype(self._action_dtype)
            observation, reward[i], terminated, _, _ = env.step(action)
            x_next[i] = self._observation(observation)
            self._done[i] = bool(terminated)
        self._state = x_next
        return x_next.copy(), reward / dt

    def describe(self) -> dict:
        """Environment.describe plus the gymnasium id."""
        return {**super().describe(), "gymnasium_id": self.spec.id if self.spec else None}


def _gym_dt(env, dt: float | None) -> float:
    """The environment's own time step (unwrapped .dt, else .tau), which an explicit dt must match; else dt."""
    inner = env.unwrapped
    own = next((getattr(inner, key) for key in ("dt", "tau")
                if isinstance(getattr(inner, key, None), numbers.Real) and not isinstance(getattr(inner, key), bool)),
               None)
    if own is None:
        if dt is None:
            raise ProblemError(f"{type(inner).__name__} declares no time step (.dt or .tau); pass dt=, the seconds "
                               "one step spans")
        return positive(dt, "dt must be a finite number > 0")
    if dt is not None and not math.isclose(float(dt), float(own)):
        raise ProblemError(f"dt={dt!r} disagrees with the environment's own time step {own!r}; omit dt")
    return positive(own, "the environment's time step must be a finite number > 0")
