"""hjb: physics-informed solvers for the PDEs of stochastic optimal control, on DeepXDE (PyTorch)."""
from hjb.errors import HJBError
from hjb.geometry.box import Box
from hjb.pdes.lqr import StochasticLQR
from hjb.pdes.merton import Merton
from hjb.pdes.problem import ControlProblem

__version__ = "0.1.0"

__all__ = ["Box", "ControlProblem", "HJBError", "Merton", "StochasticLQR", "__version__"]
