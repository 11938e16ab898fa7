"""Physics checks: Einstein radii, mass functions, vortex geometry, noise, substructure residuals."""

import numpy as np
import pytest
from astropy.cosmology import FlatLambdaCDM
from lenstronomy.Cosmo.lens_cosmo import LensCosmo
from scipy import stats

from deeplense.physics.cosmology import point_mass_einstein_radius
from deeplense.physics.noise import add_noise
from deeplense.physics.scenarios import LensContext, make_scenario, power_law_masses
from deeplense.physics.system import draw_system
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
    assert 1.2 < theta < 1.7  # θ_E ≈ 1.2–1.7″ with angular-diameter distances
    assert point_mass_einstein_radius(4e12, 0.5, 1.0) == pytest.approx(2 * theta)  # θ_E ∝ √M


def test_the_published_luminosity_distance_variant_gives_the_original_einstein_radius():
    """The original DeepLense simulator's θ_E of 1e12 Msun was 1.28″ (luminosity distances)
    where angular-diameter distances give 1.66″; `luminosity_as_published` reproduces it, for the
    main lens and for point-mass substructure alike."""
    assert point_mass_einstein_radius(1e12, 0.5, 1.0) == pytest.approx(1.66, abs=0.01)
    assert point_mass_einstein_radius(1e12, 0.5, 1.0, distances="luminosity_as_published") == pytest.approx(1.28, abs=0.01)
    published = LensContext(0.5, 1.0, 70.0, 0.3, 0.05, 0.0, 0.0, "luminosity_as_published")
    ratio = published.theta_e_of_mass(np.array([1e8]))[0] / CTX.theta_e_of_mass(np.array([1e8]))[0]
    assert ratio == pytest.approx(1.2815 / 1.6645, rel=1e-3)


def test_noise_off_stores_the_noiseless_image(small_cfg):
    from deeplense.simulation.image import simulate_image

    dataset = small_cfg.datasets["small"].model_copy(deep=True)
    noisy = simulate_image(dataset, dataset.classes[0], 5)
    dataset.instrument.noise = False
    clean = simulate_image(dataset, dataset.classes[0], 5)
    assert np.array_equal(clean.image, clean.noiseless.astype(np.float32)) and np.array_equal(clean.noiseless, noisy.noiseless)
    assert not np.array_equal(noisy.image, clean.image) and np.isnan(clean.record["snr"]) and noisy.record["snr"] > 0


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
    assert masses_back.sum() == pytest.approx(sub.summary["halo_mass_total"], rel=1e-9)


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


def test_vortex_placed_as_pylensing_placed_the_published_model_a_vortices():
    """placement 'pylensing': PyLensing's gen_data_vortex.py, transcribed in its own terms (start at
    the centre less length/2 along θ read as degrees, then steps of length/n along θ in radians, as
    PyAutoLens (y, x) centres), gives the same positions; every line starts near one fixed point."""
    import math

    length, n = 1.0, 25
    scenario = make_scenario("vortex", {"n_points": n, "mass": 2.5e11, "length": length, "placement": "pylensing"})
    starts, angles = [], []
    for seed in range(40):
        sub = scenario.draw(CTX, np.random.default_rng(seed))
        theta = sub.summary["vortex_angle"]
        x_start = 0.0 - (length / 2 * math.cos(math.radians(theta)))
        y_start = 0.0 - (length / 2 * math.sin(math.radians(theta)))
        delta = length / n
        centres = [(x_start + j * delta * math.cos(theta), y_start + j * delta * math.sin(theta)) for j in range(n)]
        ours = [(c.kwargs["center_y"], c.kwargs["center_x"]) for c in sub.components]  # PyAutoLens order
        np.testing.assert_allclose(ours, centres, atol=1e-12)
        thetas = np.array([c.kwargs["theta_E"] for c in sub.components])
        assert (thetas**2).sum() == pytest.approx(point_mass_einstein_radius(2.5e11, 0.5, 1.0) ** 2, rel=1e-9)
        starts.append(ours[0])
        angles.append(theta)
    # the degrees-for-radians slip pins every start within 2π degrees of (y, x) = (-length/2, 0) ...
    assert np.hypot(np.array(starts)[:, 0] + length / 2, np.array(starts)[:, 1]).max() < length / 2 * math.radians(2 * math.pi) + 1e-12
    # ... while the lines point every way
    assert np.ptp(angles) > 5.0
    with pytest.raises(ValueError, match="offset_max = 0.5: placement 'pylensing'"):
        make_scenario("vortex", {"placement": "pylensing", "offset_max": 0.5})


def test_vortex_angle_from_a_choice_gives_only_those_lines():
    """``angle: {dist: choice}`` (PyLensing's five orientations per run): every line takes one of
    the listed orientations, centred or placed as PyLensing placed it, and records it."""
    angles = [0.3, 2.0, 4.5]
    for placement in ("centred", "pylensing"):
        scenario = make_scenario("vortex", {"n_points": 5, "angle": {"dist": "choice", "values": angles}, "placement": placement})
        seen = set()
        for seed in range(30):
            sub = scenario.draw(CTX, np.random.default_rng(seed))
            theta = sub.summary["vortex_angle"]
            assert theta in angles
            seen.add(theta)
            x = np.array([c.kwargs["center_x"] for c in sub.components])
            y = np.array([c.kwargs["center_y"] for c in sub.components])
            direction = (np.cos(theta), np.sin(theta)) if placement == "centred" else (np.sin(theta), np.cos(theta))
            assert np.allclose(np.diff(x) * direction[1] - np.diff(y) * direction[0], 0.0, atol=1e-12)  # along θ
        assert seen == set(angles)


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


@pytest.mark.parametrize("sigma_v", [200.0, 300.0])
def test_einstein_radius_from_mass_matches_the_analytic_sis(sigma_v):
    """SIS of velocity dispersion σ: θ_E = 4π (σ/c)² D_ds/D_s (angular-diameter distances), and its
    projected mass inside θ_E is M = π σ² D_d θ_E / G. Converting that M back with
    ``point_mass_einstein_radius`` (what a config's ``lens.mass`` uses) returns the same θ_E; and
    the SIE profile the renderer uses with that θ_E has mean convergence 1 inside it."""
    from astropy import constants as const

    from deeplense.physics.cosmology import ARCSEC_PER_RAD, lensing_distances
    from lenstronomy.LensModel.lens_model import LensModel

    d_d, d_s, d_ds = lensing_distances(0.5, 1.0, 70.0, 0.3, 0.05)
    sigma = sigma_v * 1e3
    theta_rad = 4 * np.pi * (sigma / const.c.value) ** 2 * d_ds / d_s
    theta = theta_rad * ARCSEC_PER_RAD
    lens_cosmo = LensCosmo(0.5, 1.0, cosmo=FlatLambdaCDM(H0=70, Om0=0.3, Ob0=0.05))
    assert lens_cosmo.sis_sigma_v2theta_E(sigma_v) == pytest.approx(theta, rel=1e-3)  # independent code
    mass = np.pi * sigma**2 * d_d * theta_rad / const.G.value / const.M_sun.value
    assert point_mass_einstein_radius(mass, 0.5, 1.0) == pytest.approx(theta, rel=1e-9)
    n = 800  # even: no sample on the central singularity
    x, y = np.meshgrid(*2 * [np.linspace(-theta, theta, n)])
    inside = np.hypot(x, y) < theta
    kappa = LensModel(["SIE"]).kappa(x[inside], y[inside], [{"theta_E": theta, "e1": 0.0, "e2": 0.0, "center_x": 0.0, "center_y": 0.0}])
    assert kappa.mean() == pytest.approx(1.0, rel=0.01)


def test_axion_vortex_length_scales_as_inverse_axion_mass():
    lengths = {}
    for log_m in (-24.0, -23.0, -22.0):
        sub = make_scenario("axion", {"log10_m_axion": log_m}).draw(CTX, np.random.default_rng(0))
        xy = np.array([[c.kwargs["center_x"], c.kwargs["center_y"]] for c in sub.components])
        lengths[log_m] = np.hypot(*(xy[-1] - xy[0]))
        assert sub.summary["log10_m_axion"] == log_m and sub.summary["vortex_length"] == pytest.approx(lengths[log_m])
        theta = np.array([c.kwargs["theta_E"] for c in sub.components])
        assert (theta**2).sum() == pytest.approx(point_mass_einstein_radius(3e10, 0.5, 1.0) ** 2, rel=1e-9)
        assert len(sub.components) == 100
    # DeepLense: half-length 0.03″ at 1e-22 eV, 3.0″ at 1e-24 eV
    assert lengths[-22.0] == pytest.approx(0.06) and lengths[-24.0] == pytest.approx(6.0)
    assert lengths[-23.0] * 10**-23 == pytest.approx(lengths[-22.0] * 10**-22)


def test_axion_mass_is_drawn_log_uniformly_and_recorded():
    scenario = make_scenario("axion", {})
    draws = np.array([scenario.draw(CTX, np.random.default_rng(i)).summary["log10_m_axion"] for i in range(400)])
    assert draws.min() >= -24 and draws.max() <= -22
    assert stats.kstest(draws, stats.uniform(-24, 2).cdf).pvalue > 0.01


def test_vortex_count_and_sphere_mass():
    sub = make_scenario("vortex", {"n_vortices": 3, "n_points": 10, "mass": 1e10}).draw(CTX, np.random.default_rng(1))
    assert len(sub.components) == 30 and sub.summary["halo_mass_total"] == 3e10
    sphere = make_scenario("sphere", {"n_points": 25, "mass": 5.2e9, "r_max": 1.0}).draw(CTX, np.random.default_rng(1))
    r = np.hypot([c.kwargs["center_x"] for c in sphere.components], [c.kwargs["center_y"] for c in sphere.components])
    theta = np.array([c.kwargs["theta_E"] for c in sphere.components])
    assert r.max() <= 1.0 and (theta**2).sum() == pytest.approx(point_mass_einstein_radius(5.2e9, 0.5, 1.0) ** 2)


CHEAP = {"log_mlow": 7.5, "cone_opening_angle_arcsec": 3.5, "LOS_normalization": 0.0}


def test_every_scenario_perturbs_the_arcs():
    """Same seed ⇒ same lens and source; each scenario's residual from no_sub is non-zero and lies
    on the lensed arcs. Physics order: at equal settings WDM (m_hm = 1e9) holds fewer halos than
    CDM; SIDM renders collapsed halos with cored profiles."""
    from deeplense.experiment import load_config

    classes = [
        ("no_sub", {}),
        ("cdm", {"recipe": "pyhalo", **CHEAP}),
        ("wdm", {"log_mc": 9.0, **CHEAP}),
        ("sidm", CHEAP),
        ("sidm", {"model": "parametric", **CHEAP}),
        ("vortex", {"n_points": 30}),
        ("axion", {}),
        ("axion", {"recipe": "pyhalo", **CHEAP}),
    ]
    cfg = load_config({
        "datasets": {"d": {
            "instrument": {"num_pix": 32, "pixel_scale": 0.15, "psf_fwhm": 0.15},
            "source": {"center_x": 0.05, "center_y": 0.0},
            "classes": [{"name": f"c{i}", "scenario": s, "n_images": 1, "params": p} for i, (s, p) in enumerate(classes)],
        }}
    })
    ds = cfg.datasets["d"]
    images, records = [], []
    for cls in ds.classes:
        system, record = draw_system(ds, cls, image_streams(77))
        images.append(render(system, 32, 0.15, 0.15))
        records.append(record)
    smooth = images[0]
    on_arcs = smooth > 0.05 * smooth.max()
    for (name, _), image in zip(classes[1:], images[1:]):
        res = np.abs(image - smooth)
        assert np.isfinite(image).all() and image.min() >= 0
        assert res.max() > 1e-4 * smooth.max(), name
        assert res[on_arcs].sum() > 0.7 * res.sum(), name
    assert records[2]["n_halos"] < records[1]["n_halos"]  # WDM suppresses halos
    assert records[3]["sidm_n_collapsed"] > 0 and records[4]["sidm_n_collapsed"] > 0
    from deeplense.physics.records import record_fields

    fields = record_fields(ds)  # every recorded value has a declared unit and description (the shard writer needs them)
    for record in records:
        assert set(record) <= set(fields), set(record) - set(fields)
        assert all(fields[k].unit and fields[k].description for k in record)


def test_each_band_gets_its_own_noise_and_light():
    """Two bands: the second twice as bright with five times the background; the drawn noise
    follows each band's model (Poisson on the exposure + its Gaussian background)."""
    from deeplense.experiment import load_config
    from deeplense.simulation.image import simulate_image

    cfg = load_config({"datasets": {"d": {
        "instrument": {"num_pix": 96, "pixel_scale": 0.06, "psf_fwhm": 0.1, "exposure_time": 500.0,
                       "bands": [{"name": "g", "background_rms": 0.01}, {"name": "r", "source_scale": 2.0, "background_rms": 0.05}]},
        "classes": [{"name": "no_sub", "scenario": "no_sub", "n_images": 1}],
    }}})
    ds = cfg.datasets["d"]
    sim = simulate_image(ds, ds.classes[0], 4)
    assert sim.image.shape == (2, 96, 96) and sim.image.dtype == np.float32
    np.testing.assert_allclose(sim.noiseless[1], 2.0 * sim.noiseless[0], rtol=1e-12)
    for band, bkg in ((0, 0.01), (1, 0.05)):
        sigma = np.sqrt(sim.noiseless[band] / 500.0 + bkg**2)
        pull = (sim.image[band] - sim.noiseless[band]) / sigma
        assert abs(pull.mean()) < 0.05 and pull.std() == pytest.approx(1.0, abs=0.04)
