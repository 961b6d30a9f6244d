"""A residual PDE: the 2-D Poisson problem −Δu = (π² − 1)·eˣ·sin(πy) on [0, 1]² with u = eˣ·sin(πy) on the boundary,
manufactured from that u.  Solve and export it with

    hjb solve examples/poisson2d.py --out runs/poisson2d
    hjb export runs/poisson2d --points 41
"""
import numpy as np
import torch

from hjb.geometry import Box
from hjb.pdes.conditions import Dirichlet
from hjb.pdes.residual_pde import ResidualPDE


def exact(z):
    """u (n,) at points z (n, 2): the solution the source below was made from."""
    return np.exp(z[:, 0]) * np.sin(np.pi * z[:, 1])


def residual(x, u, D):
    """R = Δu + f (n, 1), f = (π² − 1)·eˣ·sin(πy)."""
    source = (torch.pi**2 - 1) * torch.exp(x[:, :1]) * torch.sin(torch.pi * x[:, 1:2])
    return D.laplacian() + source


pde = ResidualPDE(name="poisson2d", domain=Box([0.0, 0.0], [1.0, 1.0]), residual=residual,
                  conditions=[Dirichlet(exact)], solution=exact)
