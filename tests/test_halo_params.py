"""The fast path's halos are pyHalo's own: every lens-model parameter of every halo equals what
``Realization.lensing_quantities()`` gives to 1e-12 (the collapsed SIDM halos' normalisation to
1e-10; same random draws, same order), for every preset, on several realizations, every halo
computed by the fast path; the global random stream is left where pyHalo leaves it. A fallback
to pyHalo's per-halo code is logged and recorded. And the pieces: numpy's legacy stream replayed
in bulk, colossus's concentrations for (mass, redshift) arrays, scipy's Nelder-Mead in lockstep."""

import logging
import re

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
# relative; measured over six realizations a preset and CDM's defaults: <= 3e-14 for every parameter
# but the collapsed SIDM halos' normalisation, <= 4e-12 (pyHalo's 1000-point integral, summed in another order)
TOLERANCE = 1e-12
TOLERANCE_COLLAPSED_NORM = 1e-10


PATHS = ("n_halos_fast", "n_halos_pyhalo")


def assert_same_population(preset: str, kwargs: dict, seed: int, fast_path: bool = True) -> None:
    """The fast population equals pyHalo's; with ``fast_path`` every halo of it was computed by
    the fast path (else a fallback would compare pyHalo with pyHalo)."""
    ref = pyhalo_adapter.population(preset, 0.5, 1.0, kwargs, COSMO, np.random.default_rng(seed), fast=False)
    state_ref = np.random.get_state()
    fast = pyhalo_adapter.population(preset, 0.5, 1.0, kwargs, COSMO, np.random.default_rng(seed), fast=True)
    state_fast = np.random.get_state()
    n_halos = ref.summary["n_halos"]
    assert ref.summary["n_halos_fast"] == 0 and ref.summary["n_halos_pyhalo"] == n_halos
    if fast_path:
        assert n_halos > 0 and fast.summary["n_halos_fast"] == n_halos and fast.summary["n_halos_pyhalo"] == 0, preset
    assert all(np.array_equal(a, b) for a, b in zip(state_ref, state_fast)), "global stream left elsewhere"
    assert [c.profile for c in fast.components] == [c.profile for c in ref.components]
    assert [c.redshift for c in fast.components] == [c.redshift for c in ref.components]
    assert {k: v for k, v in fast.summary.items() if k not in PATHS} == {k: v for k, v in ref.summary.items() if k not in PATHS}
    for a, b in zip(fast.components, ref.components):
        assert a.kwargs.keys() == b.kwargs.keys()
        for key, value in b.kwargs.items():
            tol = TOLERANCE_COLLAPSED_NORM if (a.profile, key) == ("TNFWC", "alpha_Rs") else TOLERANCE
            assert a.kwargs[key] == pytest.approx(value, rel=tol, abs=1e-300), (preset, a.profile, key)


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


def test_presets_the_fast_path_does_not_cover_fall_back_to_pyhalo_logged_and_recorded(caplog):
    """SIDM_parametric's cored halos are not covered: pyHalo computes every halo, a warning names
    the halo classes and counts, and the record counts the halos per path."""
    kwargs = {**CHEAP, "log_mlow": 7.5, "log10_mass_ranges": [[5, 8], [8, 10.5]],
              "log10_effective_cross_section_list": [2.0, 1.0]}
    assert_same_population("SIDM_parametric", kwargs, 4, fast_path=False)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="deeplense.physics.halos.paths"):
        drawn = pyhalo_adapter.population("SIDM_parametric", 0.5, 1.0, kwargs, COSMO, np.random.default_rng(4))
    n_halos = drawn.summary["n_halos_pyhalo"]
    assert n_halos == drawn.summary["n_halos"] > 0 and drawn.summary["n_halos_fast"] == 0
    [message] = [r.getMessage() for r in caplog.records]
    assert "halo lens parameters" in message and f"all {n_halos:.0f} halos" in message
    assert re.search(r"\d+ \w+Subhalo", message), message  # a count and the class not covered


def test_collapse_into_another_profile_falls_back_logged_and_recorded(caplog):
    """SIDM core collapse into SPL_CORE (the fast path makes TNFWC only): pyHalo collapses the
    picked halos (logged with their count) and then computes every halo (logged, recorded)."""
    kwargs = {**CHEAP, **SIDM, "collapsed_halo_profile": "SPL_CORE", "log_slope_halo": 3.0}
    with caplog.at_level(logging.WARNING, logger="deeplense.physics.halos.paths"):
        drawn = pyhalo_adapter.population("SIDM_core_collapse", 0.5, 1.0, kwargs, COSMO, np.random.default_rng(5))
    messages = [r.getMessage() for r in caplog.records]
    assert [m.split(":")[0] for m in messages] == ["SIDM core collapse", "halo lens parameters"], messages
    assert "SPL_CORE" in messages[0] and "PowerLaw" in messages[1]
    assert drawn.summary["n_halos_pyhalo"] == drawn.summary["n_halos"] > 0 and drawn.summary["n_halos_fast"] == 0


def test_pyhalo_populations_record_halos_per_path():
    """The per-path counts are record fields, with their units, of every pyHalo-backed image."""
    from deeplense.physics.scenarios import LensContext, make_scenario
    from deeplense.physics.scenarios.pyhalo_population import PYHALO_RECORD_FIELDS

    assert PYHALO_RECORD_FIELDS["n_halos_fast"].unit == PYHALO_RECORD_FIELDS["n_halos_pyhalo"].unit == "count"
    ctx = LensContext(0.5, 1.0, 70.0, 0.3, 0.05, 0.0, 0.0)
    scenario = make_scenario("wdm", {"log_mc": 7.5, **{k: v for k, v in CHEAP.items()}})
    summary = scenario.draw(ctx, np.random.default_rng(2)).summary
    assert summary["n_halos_fast"] == summary["n_halos"] > 0 and summary["n_halos_pyhalo"] == 0
    assert set(summary) == scenario.recorded(scenario.params)  # every field it writes is declared, none missing
    # n_halos counts subhalos and line-of-sight halos; the split adds up, and so do the masses
    assert summary["n_halos"] == summary["n_halos_subhalo"] + summary["n_halos_los"] and summary["n_halos_los"] > 0
    assert 0 < summary["subhalo_mass_total"] < summary["halo_mass_total"]


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
