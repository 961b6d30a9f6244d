"""Methods hjb is compared with: denoising score matching (score_matching), DeepXDE alone on the nonlinear HJB
(plain_deepxde), and DeepBSDE, finite-horizon (deepbsde) and discounted (deepbsde_stationary)."""
