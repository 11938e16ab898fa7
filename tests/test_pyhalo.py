"""pyHalo populations: images are reproducible per seed whatever the sharding or the process
history; WDM suppression, CDM slope, SIDM cores and ULDM solitons follow the physics of pyHalo's
presets (the fast path's equality with pyHalo's own parameters: tests/test_halo_params.py)."""

import numpy as np
import pytest
from lenstronomy.LensModel.lens_model import LensModel
from pyHalo.mass_function_models import preset_mass_function_models
from scipy import integrate

from deeplense.experiment import load_config
from deeplense.physics import pyhalo_adapter, pyhalo_compat
from deeplense.physics.components import LensSystem
from deeplense.physics.scenarios import LensContext, make_scenario
from deeplense.simulation.lenstronomy_renderer import lens_model, render
from deeplense.simulation.shards import simulate_shard

# pyHalo's own astropy deprecation and lenstronomy's note on passing a cosmology: not under test
pytestmark = pytest.mark.filterwarnings("ignore:Use ``angular_diameter_distance", "ignore:Cosmology is provided")
COSMO = {"H0": 70.0, "Om0": 0.3, "Ob0": 0.05}
CTX = LensContext(0.5, 1.0, 70.0, 0.3, 0.05, 0.0, 0.0)
# Small but real populations: cone 3.5″, subhalos (and some line-of-sight halos where tested)
POP = {"sigma_sub": 0.025, "log_mlow": 6.0, "log_mhigh": 10.0, "shmf_log_slope": -1.9, "log_m_host": 13.3,
       "LOS_normalization": 0.0, "cone_opening_angle_arcsec": 3.5}


def realization(preset, seed, **kw):
    return pyhalo_adapter.realize(preset, 0.5, 1.0, {**POP, **kw}, COSMO, np.random.default_rng(seed))


def test_halos_do_not_depend_on_process_history():
    """A population drawn with cold caches (set-up memos, pyHalo's own truncation table, which
    it widens as it meets extreme halos) and one drawn after others, from the same seed, give
    identical components: images are functions of their seeds alone."""
    pyhalo_compat.clear_memos()
    kw = {**POP, "log_mc": 8.0, "LOS_normalization": 1.0}
    cold = pyhalo_adapter.population("WDM", 0.5, 1.0, kw, COSMO, np.random.default_rng(8)).components
    pyhalo_adapter.population("CDM", 0.5, 1.0, {**POP, "log_mlow": 7.0}, COSMO, np.random.default_rng(1))
    warm = pyhalo_adapter.population("WDM", 0.5, 1.0, kw, COSMO, np.random.default_rng(8)).components
    assert len(cold) == len(warm) > 0
    for a, b in zip(cold, warm):
        assert a.profile == b.profile and a.redshift == b.redshift and a.kwargs == b.kwargs


def test_fast_components_render_multi_plane_images():
    """Halos on many planes go through lenstronomy's multi-plane model; the image changes."""
    sub = make_scenario("cdm", {"recipe": "pyhalo", **POP, "log_mlow": 7.5, "LOS_normalization": 1.0}).draw(
        CTX, np.random.default_rng(2)
    )
    from deeplense.physics.components import Component

    main = [Component("SIE", {"theta_E": 1.2, "e1": 0.1, "e2": 0.0, "center_x": 0.0, "center_y": 0.0})]
    source = [Component("SERSIC_ELLIPSE", {"amp": 10.0, "R_sersic": 0.25, "n_sersic": 1.0, "e1": 0.0, "e2": 0.0, "center_x": 0.05, "center_y": 0.0})]
    smooth = LensSystem(0.5, 1.0, main, source)
    lumpy = LensSystem(0.5, 1.0, main + sub.components, source)
    assert lumpy.multi_plane and not smooth.multi_plane
    assert lens_model(lumpy).multi_plane
    a, b = render(smooth, 32, 0.12, 0.15), render(lumpy, 32, 0.12, 0.15)
    assert np.isfinite(b).all() and b.min() >= 0
    assert 1e-4 < np.abs(a - b).max() / a.max() < 0.5


def test_pyhalo_images_identical_whatever_the_sharding():
    cfg = load_config({
        "seed": 9,
        "datasets": {"d": {
            "instrument": {"num_pix": 24, "pixel_scale": 0.2, "psf_fwhm": 0.2},
            "classes": [{"name": "wdm", "scenario": "wdm", "n_images": 3,
                         "params": {"log_mc": {"dist": "uniform", "low": 7.0, "high": 9.0}, "log_mlow": 7.5,
                                    "cone_opening_angle_arcsec": 3.0, "LOS_normalization": 0.5}}],
        }},
    })
    ds = cfg.datasets["d"]
    cls = ds.classes[0]
    whole = simulate_shard(cfg.seed, ds, cls, range(0, 3), progress=False)
    parts = [simulate_shard(cfg.seed, ds, cls, r, progress=False) for r in (range(2, 3), range(0, 2))]
    assert np.array_equal(whole.images, np.concatenate([parts[1].images, parts[0].images]))
    assert len(set(whole.records["log_mc"])) == 3 and np.all(whole.records["n_halos"] > 0)


# ---- mass functions: CDM slope and WDM suppression ---------------------------------------------
@pytest.fixture(scope="module")
def subhalo_masses():
    """Subhalo masses of 4 CDM and 4 WDM (log_mc = 8) realizations with the same normalisation."""
    out = {}
    for preset, extra in (("CDM", {}), ("WDM", {"log_mc": 8.0})):
        masses = [np.array([h.mass for h in realization(preset, seed, **extra).halos if h.is_subhalo]) for seed in range(4)]
        out[preset] = np.concatenate(masses)
    return out


def test_cdm_mass_function_slope_recovered(subhalo_masses):
    m = subhalo_masses["CDM"]
    m_min, m_max = 1e6, 1e10
    assert m.size > 2000 and m.min() >= m_min and m.max() <= m_max

    def nll(b):
        k = b + 1
        return -(b * np.log(m).sum() - m.size * np.log((m_max**k - m_min**k) / k))

    grid = np.linspace(-2.2, -1.6, 601)
    fit = grid[np.argmin([nll(b) for b in grid])]
    sigma = 1 / np.sqrt((nll(fit + 1e-3) - 2 * nll(fit) + nll(fit - 1e-3)) / 1e-6)
    assert abs(fit - (-1.9)) < 3 * sigma and sigma < 0.05


def test_wdm_suppression_follows_the_preset_mass_function(subhalo_masses):
    """n_WDM/n_CDM in mass bins = (1 + a (m_hm/m)^b)^c with the preset's Lovell (2020) a, b, c,
    averaged over each bin with the m^-1.9 CDM weights; counts below m_hm are strongly suppressed."""
    kw = preset_mass_function_models("LOVELL2020")[1]
    a, b, c = kw["a_wdm"], kw["b_wdm"], kw["c_wdm"]
    m_hm = 1e8
    bins = np.arange(6.0, 10.01, 0.5)
    n_cdm, _ = np.histogram(np.log10(subhalo_masses["CDM"]), bins)
    n_wdm, _ = np.histogram(np.log10(subhalo_masses["WDM"]), bins)

    def suppression(lo, hi):
        w = lambda lm: (10**lm) ** -0.9  # m^-1.9 dm = m^-0.9 dlog m (up to a constant)
        f = lambda lm: w(lm) * (1 + a * (m_hm / 10**lm) ** b) ** c
        return integrate.quad(f, lo, hi)[0] / integrate.quad(w, lo, hi)[0]

    expected = np.array([suppression(lo, hi) for lo, hi in zip(bins[:-1], bins[1:])]) * n_cdm
    var = n_wdm + expected**2 / np.maximum(n_cdm, 1)  # Poisson in both
    use = expected > 5
    chi2 = (((n_wdm - expected) ** 2 / var)[use]).sum()
    assert use.sum() >= 5 and chi2 / use.sum() < 3.0, (n_cdm, n_wdm, expected)
    below = bins[:-1] < np.log10(m_hm) - 1
    assert n_wdm[below].sum() < 0.2 * n_cdm[below].sum()  # below the half-mode mass: suppressed
    above = bins[:-1] >= 9
    assert n_wdm[above].sum() > 0.6 * n_cdm[above].sum()  # far above it: CDM-like


# ---- SIDM: cored halos -----------------------------------------------------------------------
def test_sidm_collapsed_halos_have_flat_central_convergence():
    sub = make_scenario("sidm", {**POP, "log_mlow": 7.0, "probabilities_subhalos": [1.0, 1.0]}).draw(
        CTX, np.random.default_rng(3)
    )
    cored = [c for c in sub.components if c.profile == "TNFWC"]
    assert cored and sub.summary["sidm_n_collapsed"] == len(cored)
    halo = max(cored, key=lambda c: c.kwargs["alpha_Rs"])
    kw_c = {k: halo.kwargs[k] for k in ("Rs", "alpha_Rs", "r_trunc", "r_core", "center_x", "center_y")}
    kw_n = {k: v for k, v in kw_c.items() if k != "r_core"}
    rc = kw_c["r_core"]
    assert 0 < rc <= kw_c["Rs"]
    r = np.array([0.01, 0.1]) * rc
    x, y = kw_c["center_x"] + r, np.full(2, kw_c["center_y"])
    k_core = LensModel(["TNFWC"]).kappa(x, y, [kw_c])
    k_cusp = LensModel(["TNFW"]).kappa(x, y, [kw_n])
    assert k_core[0] / k_core[1] == pytest.approx(1.0, abs=0.05)  # flat inside the core
    assert k_cusp[0] / k_cusp[1] > 1.2  # the NFW cusp keeps rising


# ---- ULDM: solitons shrink as the axion gets heavier ----------------------------------------
def test_uldm_soliton_cores_shrink_with_axion_mass():
    theta_c = {}
    for log_m in (-22.0, -20.0):
        sub = make_scenario("axion", {"recipe": "pyhalo", **POP, "log_mlow": 8.0, "log10_m_axion": log_m}).draw(
            CTX, np.random.default_rng(4)
        )
        assert sub.summary["log10_m_axion"] == log_m
        theta_c[log_m] = np.median([c.kwargs["theta_c"] for c in sub.components if c.profile == "ULDM"])
    # soliton core radius r_c ∝ m_a^-1 M^(-1/3) (Schive et al. 2014): 100× heavier ⇒ far smaller
    assert theta_c[-20.0] < 0.1 * theta_c[-22.0]
