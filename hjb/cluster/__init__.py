"""Independent solves on Dask distributed: an embedded LocalCluster by default, or an existing scheduler."""
