"""Problem declarations and the residual PDEs hjb derives from them (generator, HJB, policy evaluation)."""
from hjb.pdes.generator import generator, value_derivatives
from hjb.pdes.lqr import StochasticLQR, seed_lqr
from hjb.pdes.merton import Merton
from hjb.pdes.problem import ControlProblem
from hjb.pdes.residuals import evaluation_residual, greedy, hamiltonian, hjb_residual

__all__ = [
    "ControlProblem",
    "Merton",
    "StochasticLQR",
    "evaluation_residual",
    "generator",
    "greedy",
    "hamiltonian",
    "hjb_residual",
    "seed_lqr",
    "value_derivatives",
]
