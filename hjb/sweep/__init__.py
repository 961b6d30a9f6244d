"""Parameter sweeps: one solve per cell of a grid of parameters, on Dask, gathered into one xarray Dataset."""
from hjb.sweep.run import run_sweep

__all__ = ["run_sweep"]
