"""A diffusion model as a PDE file: the log-density HJB of VP noising of a 1-D two-component Gaussian mixture.

    hjb solve examples/diffusion_mixture1d.py --out runs/diffusion_mixture1d     # about 3½ minutes on one core
    hjb export runs/diffusion_mixture1d --times 11 --format npz                  # W(x, t) = log p_{T−t}(x) on (t, x)
    hjb sample runs/diffusion_mixture1d --n 10000 --out samples.npy              # reverse-time SDE, learned control
"""
from hjb.pdes.data_laws import GaussianMixture
from hjb.pdes.diffusion_model import DiffusionModel
from hjb.pdes.noising import VPNoising

# p_data = 0.3 N(−1.5, 0.3²) + 0.7 N(1, 0.5²); β rises from 0.5 to 4 over T = 2, so p_T is close to N(0, 1).
data = GaussianMixture([0.3, 0.7], [[-1.5], [1.0]], [[[0.3**2]], [[0.5**2]]])
problem = DiffusionModel(data, VPNoising(beta_min=0.5, beta_max=4.0, horizon=2.0), name="diffusion_mixture1d")
# No `settings`: hjb solves every DiffusionModel with hjb.settings.DIFFUSION_SETTINGS, as the validation suite does.
