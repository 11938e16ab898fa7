"""One image from its dataset config, class and seed: draw the physical system, render it, add
noise, and return the record of every drawn value (enough to regenerate it from the seed)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from deeplense.config import ClassConfig, DatasetConfig
from deeplense.physics.components import Component, LensSystem
from deeplense.physics.cosmology import point_mass_einstein_radius
from deeplense.physics.distributions import draw
from deeplense.physics.noise import add_noise, noise_sigma
from deeplense.physics.scenarios import COMMON_RECORD_UNITS, SCENARIOS, LensContext, make_scenario
from deeplense.simulation.lenstronomy_renderer import render
from deeplense.simulation.seeds import image_streams

# Units of the record fields that every image has; scenarios add their own.
BASE_RECORD_UNITS: dict[str, str] = {
    "lens_theta_E": "arcsec",
    "lens_e1": "1",
    "lens_e2": "1",
    "lens_center_x": "arcsec",
    "lens_center_y": "arcsec",
    "shear_gamma1": "1",
    "shear_gamma2": "1",
    "source_amp": "counts/s",
    "source_R_sersic": "arcsec",
    "source_n_sersic": "1",
    "source_e1": "1",
    "source_e2": "1",
    "source_center_x": "arcsec",
    "source_center_y": "arcsec",
    "exposure_time": "s",
    "peak_snr": "1",
    **COMMON_RECORD_UNITS,
}


def record_units(dataset: DatasetConfig) -> dict[str, str]:
    """Units of every record field images of ``dataset`` can have (the union over its classes)."""
    units = dict(BASE_RECORD_UNITS)
    if dataset.lens.mass is not None:
        units["lens_mass"] = "Msun"
    for cls in dataset.classes:
        units.update(SCENARIOS.get(cls.scenario).record_units)
    return units


@dataclass(frozen=True)
class SimulatedImage:
    image: np.ndarray  # (band, y, x) float32, noisy, counts/s
    noiseless: np.ndarray  # (band, y, x) float64
    record: dict[str, float]


def draw_system(dataset: DatasetConfig, cls: ClassConfig, streams: dict[str, np.random.Generator]) -> tuple[LensSystem, dict[str, float]]:
    """The physical system of one image and the drawn values that define it."""
    cosmo = dataset.cosmology
    lens_cfg, src_cfg = dataset.lens, dataset.source
    rl, rs = streams["lens"], streams["source"]
    record: dict[str, float] = {}
    if lens_cfg.mass is not None:
        record["lens_mass"] = draw(lens_cfg.mass, rl)
        theta_e = point_mass_einstein_radius(
            record["lens_mass"], dataset.z_lens, dataset.z_source, cosmo.H0, cosmo.Om0, cosmo.Ob0
        )
    else:
        theta_e = draw(lens_cfg.theta_E, rl)
    main = {"theta_E": float(theta_e)}
    for key in ("e1", "e2", "center_x", "center_y"):
        main[key] = draw(getattr(lens_cfg, key), rl)
    shear = {"gamma1": draw(lens_cfg.gamma1, rl), "gamma2": draw(lens_cfg.gamma2, rl)}
    source = {key: draw(getattr(src_cfg, key), rs) for key in ("amp", "R_sersic", "n_sersic", "e1", "e2", "center_x", "center_y")}
    record.update({f"lens_{k}": v for k, v in main.items()})
    record.update({f"shear_{k}": v for k, v in shear.items()})
    record.update({f"source_{k}": v for k, v in source.items()})

    ctx = LensContext(
        dataset.z_lens, dataset.z_source, cosmo.H0, cosmo.Om0, cosmo.Ob0, main["center_x"], main["center_y"]
    )
    sub = make_scenario(cls.scenario, cls.params).draw(ctx, streams["substructure"])
    record.update(sub.summary)
    system = LensSystem(
        z_lens=dataset.z_lens,
        z_source=dataset.z_source,
        lens=[Component(lens_cfg.profile, main), Component("SHEAR", shear), *sub.components],
        source_light=[Component(src_cfg.profile, source)],
    )
    return system, record


def simulate_image(dataset: DatasetConfig, cls: ClassConfig, seed: int) -> SimulatedImage:
    """Simulate one image of class ``cls`` from its 64-bit ``seed`` alone."""
    streams = image_streams(seed)
    system, record = draw_system(dataset, cls, streams)
    inst = dataset.instrument
    exposure = draw(inst.exposure_time, streams["instrument"])
    noiseless = render(system, inst.num_pix, inst.pixel_scale, inst.psf_fwhm, inst.supersampling)
    noisy = add_noise(noiseless, exposure, inst.background_rms, streams["noise"])
    peak = np.unravel_index(np.argmax(noiseless), noiseless.shape)
    record["exposure_time"] = exposure
    record["peak_snr"] = float(noiseless[peak] / noise_sigma(noiseless[peak], exposure, inst.background_rms))
    return SimulatedImage(noisy[None].astype(np.float32), noiseless[None], record)
