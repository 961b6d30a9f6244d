"""Validation against closed forms, kept apart from the solver (which never imports this package).

riccati / merton: the discounted LQR (Riccati) and Merton closed forms; cases / suites: the validation
cases (problem, settings, reference, grid, tolerances) grouped into the `quick` and `full` suites;
metrics: relative L2 errors; runner: solve a case or a suite and measure it; report: report.json,
report.md and PNGs, and the terminal table of `hjb validate`.
"""
