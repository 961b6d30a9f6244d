"""The `hjb` command line (hjb.cli.main) and what its commands call: solve a PDE file into a run directory
(pipeline), sample a diffusion run (sample_run)."""
from hjb.cli.main import main

__all__ = ["main"]
