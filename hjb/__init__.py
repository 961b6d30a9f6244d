"""hjb: physics-informed solvers for the PDEs of stochastic optimal control, on DeepXDE (PyTorch).

Importing hjb does not import DeepXDE; the first solve does, on the PyTorch backend (hjb.backend).
"""
from hjb.errors import HJBError
from hjb.geometry.box import Box
from hjb.pdes.lqr import StochasticLQR
from hjb.pdes.merton import Merton
from hjb.pdes.problem import ControlProblem
from hjb.settings import FiniteHorizonSettings, FokkerPlanckSettings, SolverSettings
from hjb.solvers.discounted import solve
from hjb.solvers.solution import Solution

__version__ = "0.1.0"

__all__ = [
    "Box", "ControlProblem", "FiniteHorizonSettings", "FokkerPlanckSettings", "HJBError", "Merton", "SolverSettings", "Solution", "StochasticLQR",
    "__version__", "solve",
]
