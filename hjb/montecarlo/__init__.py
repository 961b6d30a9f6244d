"""Monte Carlo on the controlled SDE: Feynman–Kac values (feynman_kac) and, from a solved log-density HJB, the
reverse-time sampler and the verification identity (sampler)."""
