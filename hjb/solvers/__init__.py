"""The solvers: policy iteration (discounted and finite horizon), its evaluation, improvement, anchors and stopping
rules, and the Fokker–Planck solvers."""
