"""Physics checks: Einstein radii, mass functions, vortex geometry, noise, substructure residuals."""

import numpy as np
import pytest
from astropy.cosmology import FlatLambdaCDM
from lenstronomy.Cosmo.lens_cosmo import LensCosmo
from scipy import stats

from deeplense.physics.cosmology import point_mass_einstein_radius
from deeplense.physics.noise import add_noise
from deeplense.physics.scenarios import LensContext, make_scenario, power_law_masses
from deeplense.simulation.image import draw_system
from deeplense.simulation.lenstronomy_renderer import render
from deeplense.simulation.seeds import image_streams

CTX = LensContext(0.5, 1.0, 70.0, 0.3, 0.05, 0.0, 0.0)


@pytest.mark.parametrize("mass", [1e6, 1e9, 1e12])
def test_point_mass_einstein_radius_matches_lenstronomy(mass):
    """M = π Σ_crit (D_d θ_E)² for a point mass; lenstronomy computes Σ_crit independently.
    Tolerance 1e-3: lenstronomy uses its own rounded G, c, M_sun and Mpc (a 3e-4 difference)."""
    theta = point_mass_einstein_radius(mass, 0.5, 1.0)
    lens_cosmo = LensCosmo(0.5, 1.0, cosmo=FlatLambdaCDM(H0=70, Om0=0.3, Ob0=0.05))
    assert lens_cosmo.mass_in_theta_E(theta) == pytest.approx(mass, rel=1e-3)


def test_main_lens_of_1e12_msun_has_the_deeplense_einstein_radius():
    theta = point_mass_einstein_radius(1e12, 0.5, 1.0)
    assert 1.2 < theta < 1.7  # shared/PHYSICS.md: θ_E ≈ 1.2–1.7″ with angular-diameter distances
    assert point_mass_einstein_radius(4e12, 0.5, 1.0) == pytest.approx(2 * theta)  # θ_E ∝ √M


@pytest.mark.parametrize("beta", [-1.9, -1.0, -0.9])
def test_subhalo_masses_follow_the_power_law(beta):
    m_min, m_max = 1e6, 1e10
    masses = power_law_masses(np.random.default_rng(1), 5000, m_min, m_max, beta)
    assert masses.min() >= m_min and masses.max() <= m_max
    k = beta + 1

    def cdf(m):
        if k == 0:
            return np.log(m / m_min) / np.log(m_max / m_min)
        return (m**k - m_min**k) / (m_max**k - m_min**k)

    assert stats.kstest(masses, cdf).pvalue > 0.01


def test_cdm_slope_recovered_by_maximum_likelihood():
    """The slope fitted to the drawn masses matches the configured β within its statistical error."""
    m_min, m_max, beta = 1e6, 1e10, -1.9
    masses = power_law_masses(np.random.default_rng(2), 20000, m_min, m_max, beta)

    def nll(b):
        k = b + 1
        norm = (m_max**k - m_min**k) / k
        return -(b * np.log(masses).sum() - masses.size * np.log(norm))

    grid = np.linspace(-2.2, -1.6, 601)
    fit = grid[np.argmin([nll(b) for b in grid])]
    curvature = (nll(fit + 1e-3) - 2 * nll(fit) + nll(fit - 1e-3)) / 1e-6
    sigma = 1 / np.sqrt(curvature)
    assert abs(fit - beta) < 3 * sigma and sigma < 0.02


def test_cdm_recipe_draws_configured_population():
    sub = make_scenario("cdm", {"n_subhalos": 25}).draw(CTX, np.random.default_rng(0))
    assert len(sub.components) == 25
    r = np.hypot([c.kwargs["center_x"] for c in sub.components], [c.kwargs["center_y"] for c in sub.components])
    assert r.min() >= 0.25 and r.max() <= 2.0
    masses_back = (np.array([c.kwargs["theta_E"] for c in sub.components]) / point_mass_einstein_radius(1.0, 0.5, 1.0)) ** 2
    assert masses_back.sum() == pytest.approx(sub.summary["sub_mass_total"], rel=1e-9)


def test_vortex_mass_length_and_straightness():
    sub = make_scenario("vortex", {"n_points": 50, "mass": 3e10, "length": 1.5}).draw(CTX, np.random.default_rng(4))
    theta = np.array([c.kwargs["theta_E"] for c in sub.components])
    # θ_E² ∝ M: the deflectors together hold the configured total mass
    assert (theta**2).sum() == pytest.approx(point_mass_einstein_radius(3e10, 0.5, 1.0) ** 2, rel=1e-9)
    xy = np.array([[c.kwargs["center_x"], c.kwargs["center_y"]] for c in sub.components])
    assert np.hypot(*(xy[-1] - xy[0])) == pytest.approx(1.5)
    # all points on one straight line through the lens centre: rank-1 about the origin
    assert np.linalg.svd(xy, compute_uv=False)[1] < 1e-9
    assert sub.summary["vortex_mass"] == 3e10 and sub.summary["vortex_length"] == 1.5


def test_noise_statistics_match_the_instrument_model():
    image = np.full((200, 200), 0.5)
    t, bkg = 1000.0, 0.01
    noisy = add_noise(image, t, bkg, np.random.default_rng(0))
    assert noisy.mean() == pytest.approx(0.5, abs=3 * np.sqrt((0.5 / t + bkg**2) / image.size))
    assert noisy.var() == pytest.approx(0.5 / t + bkg**2, rel=0.03)
    assert add_noise(np.zeros((200, 200)), t, bkg, np.random.default_rng(1)).std() == pytest.approx(bkg, rel=0.03)
    with pytest.raises(ValueError, match="exposure_time"):
        add_noise(image, 0.0, bkg, np.random.default_rng(0))


def _noiseless(cfg, class_index, seed):
    ds = cfg.datasets["small"]
    system, record = draw_system(ds, ds.classes[class_index], image_streams(seed))
    inst = ds.instrument
    return render(system, inst.num_pix, inst.pixel_scale, inst.psf_fwhm), record


def test_substructure_changes_the_arcs_only(small_cfg):
    """Same seed ⇒ same main lens and source; the residual from no_sub is the substructure's,
    and it lives on the lensed arcs, not in empty sky."""
    smooth, rec0 = _noiseless(small_cfg, 0, 123)
    assert np.isfinite(smooth).all() and smooth.min() >= 0
    pixel = small_cfg.datasets["small"].instrument.pixel_scale
    n = smooth.shape[0]
    yy, xx = (np.indices(smooth.shape) - (n - 1) / 2) * pixel
    on_arcs = smooth > 0.05 * smooth.max()
    residuals = {}
    for index, name in ((1, "cdm"), (2, "vortex")):
        image, rec = _noiseless(small_cfg, index, 123)
        assert rec["lens_theta_E"] == rec0["lens_theta_E"] and rec["source_center_x"] == rec0["source_center_x"]
        assert np.isfinite(image).all() and image.min() >= 0
        res = np.abs(image - smooth)
        residuals[name] = res.sum() / smooth.sum()
        assert res.max() > 1e-4 * smooth.max(), name
        assert res[on_arcs].sum() > 0.8 * res.sum(), name
    # a 3e10 Msun vortex perturbs more than five light CDM subhalos
    assert residuals["vortex"] > residuals["cdm"]
