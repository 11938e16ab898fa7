"""Lens-model parameters of every halo of a pyHalo realization at once.

pyHalo 1.4.6 turns halos into lenstronomy parameters one halo at a time, lazily, inside
``Realization.lensing_quantities()``: per halo an infall-redshift draw, a concentration from
colossus, a Galacticus bound mass and a truncation radius, each a separate Python call. The
modules here compute the same quantities for all halos of a realization in one pass (numpy
arrays), from the same random numbers drawn in the same order (:mod:`.legacy_stream` replays
numpy's global stream), so the halos are pyHalo's own halos to rounding
(``tests/test_halo_params.py``).

- :mod:`.legacy_stream`: numpy's legacy ``RandomState`` stream (uniforms, polar Gaussians).
- :mod:`.concentration`: Ludlow et al. (2016) and Diemer & Joyce (2019) median concentrations
  for arrays of (mass, redshift), pyHalo's scatter and warm/ultralight turnovers.
- :mod:`.truncation`: infall redshifts, Galacticus bound masses and the truncated-profile
  radius of Du et al. (2024); pyHalo's r_N truncation of field halos.
- :mod:`.uldm_fit`: the ULDM core/NFW mass split, pyHalo's Nelder-Mead fit run for all halos.
- :mod:`.population`: a realization (or a preset's recipe) to renderer-independent components.
- :mod:`.paths`: which code computed each halo; every fallback to pyHalo's per-halo code is
  logged and counted for the image's record.
"""
