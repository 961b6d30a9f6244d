"""Methods hjb is compared with: denoising score matching (score_matching)."""
