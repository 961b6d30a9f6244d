"""Collocation domains: boxes and space × time cylinders over DeepXDE geometry, and the point sets hjb samples on them."""
from hjb.geometry.box import Box
from hjb.geometry.sampling import residual_weighted_pick, unit_grid, unit_points
from hjb.geometry.spacetime import SpaceTime

__all__ = ["Box", "SpaceTime", "residual_weighted_pick", "unit_grid", "unit_points"]
