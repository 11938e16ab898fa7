"""The fast path's halos are pyHalo's own: every lens-model parameter of every halo equals what
``Realization.lensing_quantities()`` gives (same random draws, same order), for every preset, on
several realizations; the global random stream is left where pyHalo leaves it. And the pieces:
numpy's legacy stream replayed in bulk, colossus's concentrations for (mass, redshift) arrays,
scipy's Nelder-Mead in lockstep."""

import numpy as np
import pytest
from scipy import optimize
from scipy.stats import truncnorm

from deeplense.physics import pyhalo_adapter, pyhalo_compat
from deeplense.physics.halos import concentration, legacy_stream, uldm_fit

pytestmark = pytest.mark.filterwarnings("ignore:Use ``angular_diameter_distance")
COSMO = {"H0": 70.0, "Om0": 0.3, "Ob0": 0.05}
CHEAP = {"sigma_sub": 0.025, "log_mlow": 7.0, "log_mhigh": 10.0, "LOS_normalization": 1.0, "cone_opening_angle_arcsec": 3.5}
SIDM = {"mass_ranges_subhalos": [[6, 8], [8, 10]], "probabilities_subhalos": [0.5, 0.9],
        "mass_ranges_field_halos": [[6, 8], [8, 10]], "probabilities_field_halos": [0.3, 0.5],
        "collapsed_halo_profile": "TNFWC", "x_core_halo": 0.05}
PRESETS = {
    "CDM": {},
    "WDM": {"log_mc": 7.7},
    "SIDM_core_collapse": SIDM,
    "ULDM": {"log10_m_uldm": -21.0, "flucs": False, "log_mlow": 6.5},
}
TOLERANCE = 1e-10  # relative; measured: <= 2e-14 (TNFW, CNFW, ULDM), <= 4e-12 (SIDM's integral)


def assert_same_population(preset: str, kwargs: dict, seed: int) -> None:
    ref = pyhalo_adapter.population(preset, 0.5, 1.0, kwargs, COSMO, np.random.default_rng(seed), fast=False)
    state_ref = np.random.get_state()
    fast = pyhalo_adapter.population(preset, 0.5, 1.0, kwargs, COSMO, np.random.default_rng(seed), fast=True)
    state_fast = np.random.get_state()
    assert all(np.array_equal(a, b) for a, b in zip(state_ref, state_fast)), "global stream left elsewhere"
    assert [c.profile for c in fast.components] == [c.profile for c in ref.components]
    assert [c.redshift for c in fast.components] == [c.redshift for c in ref.components]
    assert fast.summary == ref.summary
    for a, b in zip(fast.components, ref.components):
        assert a.kwargs.keys() == b.kwargs.keys()
        for key, value in b.kwargs.items():
            assert a.kwargs[key] == pytest.approx(value, rel=TOLERANCE, abs=1e-300), (preset, a.profile, key)


@pytest.mark.parametrize("preset", list(PRESETS))
def test_fast_halos_equal_pyhalos_own(preset):
    kwargs = {**CHEAP, **PRESETS[preset]}
    for seed in (1, 2, 3):
        assert_same_population(preset, kwargs, seed)


def test_fast_halos_equal_pyhalos_own_at_cdm_defaults():
    """~4,300 halos down to 1e6 Msun in a 6'' cone: Galacticus tails that widen pyHalo's truncation
    table mid-realization, subhalos at every infall redshift."""
    assert_same_population("CDM", {"sigma_sub": 0.025, "log_mlow": 6.0, "log_mhigh": 10.0, "LOS_normalization": 1.0,
                                    "cone_opening_angle_arcsec": 6.0}, 7)


def test_presets_the_fast_path_does_not_cover_fall_back_to_pyhalo():
    kwargs = {**CHEAP, "log_mlow": 7.5, "log10_mass_ranges": [[5, 8], [8, 10.5]],
              "log10_effective_cross_section_list": [2.0, 1.0]}
    assert_same_population("SIDM_parametric", kwargs, 4)


def test_bulk_draws_replay_numpys_legacy_stream():
    """Uniforms (scipy's inverse-CDF rvs) and Gaussians (lognormal, with the cached second value
    of numpy's polar method) interleaved: the same numbers, the generator left in the same state."""
    kinds = np.random.default_rng(3).integers(0, 2, 3000)
    np.random.seed(11)
    np.random.normal()  # leaves a cached Gaussian
    ref = [float(truncnorm.rvs(-1.0, 2.0)) if k == legacy_stream.UNIFORM else np.random.lognormal(0.0, 1.0) for k in kinds]
    after = np.random.get_state()
    np.random.seed(11)
    np.random.normal()
    values = legacy_stream.draw(kinds)
    assert all(np.array_equal(a, b) for a, b in zip(after, np.random.get_state()))
    got = [float(truncnorm.ppf(v, -1.0, 2.0)) if k == legacy_stream.UNIFORM else float(np.exp(v)) for k, v in zip(kinds, values)]
    np.testing.assert_allclose(got, ref, rtol=1e-13)


def test_concentrations_equal_colossus_per_halo():
    from pyHalo.Halos.concentration import ConcentrationDiemerJoyce, ConcentrationLudlow

    rng = np.random.default_rng(0)
    m, z = 10 ** rng.uniform(6, 10, 150), rng.uniform(0.02, 6, 150)
    with pyhalo_compat.patched():
        from pyHalo.pyhalo import pyHalo

        cosmo = pyHalo(0.5, 1.0, COSMO).astropy_cosmo
        for cls in (ConcentrationLudlow, ConcentrationDiemerJoyce):
            model = cls(cosmo, scatter=False)
            ref = np.array([float(model._evaluate_concentration(mi, zi)) for mi, zi in zip(m, z)])
            np.testing.assert_allclose(concentration.median(model, m, z), ref, rtol=1e-13)


def test_lockstep_nelder_mead_is_scipys_step_for_step():
    """Bounded problems with minima inside, on and outside the bounds (scipy's clipping, shrink
    and call-limit paths): the same solutions to the last bit."""
    rng = np.random.default_rng(1)
    centres = np.column_stack([rng.uniform(0.2, 11, 12), rng.uniform(0.3, 1.8, 12)])
    widths = rng.uniform(0.5, 3.0, 12)

    def f(p, c, w):
        return np.abs(p[0] - c[0]) ** 1.5 / w + (p[1] - c[1]) ** 2 * w + 0.01 * np.sin(5 * p[0])

    bounds = ((0.5, 10), (0.5, 1.5))
    ref = np.array([optimize.minimize(f, np.array([0.9, 1.1]), (c, w), method="Nelder-Mead", bounds=bounds, tol=0.001).x
                    for c, w in zip(centres, widths)])
    got = uldm_fit.minimize(lambda p, which: np.array([f(q, centres[i], widths[i]) for q, i in zip(p, which)]),
                            np.array([0.9, 1.1]), bounds, 0.001, 12)
    assert np.array_equal(got, ref)
