"""A sweep file: Merton's problem as a function of risk aversion γ and discount ρ, for `hjb sweep`.

    hjb sweep examples/merton_sweep.py --param gamma=2,3,5 --param discount=0.04,0.06
"""
from hjb.pdes import Merton


def make_problem(gamma: float = 2.0, discount: float = 0.05) -> Merton:
    """Merton(γ, ρ) with the seed's market (r_f = 0.03, μ = 0.08, σ = 0.2) on the default wealth box."""
    return Merton(gamma=gamma, discount=discount)
