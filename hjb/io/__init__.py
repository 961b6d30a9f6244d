"""Files in and out: PDE files (pdefile), run directories (rundir), solution grids (export), atomic writes
(atomic) and numpy-aware JSON (jsonio)."""
