"""Collocation domains: boxes over DeepXDE geometry and the point sets hjb samples on them."""
from hjb.geometry.box import Box
from hjb.geometry.sampling import residual_weighted_pick, unit_grid, unit_points

__all__ = ["Box", "residual_weighted_pick", "unit_grid", "unit_points"]
