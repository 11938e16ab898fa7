"""One image from its dataset config, class and seed: draw the physical system, render it in every
band, add noise, and return the record of every drawn value (enough to regenerate it from the seed).

Signal-to-noise ratio (recorded as ``snr``): the integrated S/N of the lensed light in the first
band, SNR = Σ S_i / sqrt(Σ σ_i²) over the pixels i where the noiseless image S exceeds the
background rms, with σ_i² = S_i / t + σ_bkg² the variance of the noise model (Poisson over the
exposure t plus Gaussian background). DeepLense did not record its definition; this one is the
standard aperture S/N with a 1σ_bkg isophote (``peak_snr`` is kept: the S/N of the brightest pixel).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from deeplense.config import ClassConfig, DatasetConfig, LightConfig, SourceConfig
from deeplense.physics.components import Component, LensSystem
from deeplense.physics.cosmology import point_mass_einstein_radius
from deeplense.physics.distributions import draw
from deeplense.physics.noise import add_noise, noise_sigma
from deeplense.physics.scenarios import COMMON_RECORD_UNITS, SCENARIOS, LensContext, make_scenario
from deeplense.physics.source_images import load_source_images
from deeplense.simulation.backends import render_parts_function
from deeplense.simulation.seeds import image_streams

SERSIC_KEYS = ("amp", "R_sersic", "n_sersic", "e1", "e2", "center_x", "center_y")
SERSIC_UNITS = {
    "amp": "counts/s/arcsec2",
    "R_sersic": "arcsec",
    "n_sersic": "1",
    "e1": "1",
    "e2": "1",
    "center_x": "arcsec",
    "center_y": "arcsec",
}
# Units of the record fields that every image has; scenarios add their own.
BASE_RECORD_UNITS: dict[str, str] = {
    "lens_theta_E": "arcsec",
    "lens_e1": "1",
    "lens_e2": "1",
    "lens_center_x": "arcsec",
    "lens_center_y": "arcsec",
    "shear_gamma1": "1",
    "shear_gamma2": "1",
    **{f"source_{k}": u for k, u in SERSIC_UNITS.items()},
    "exposure_time": "s",
    "peak_snr": "1",
    "snr": "1",
    **COMMON_RECORD_UNITS,
}
INTERPOL_UNITS = {"source_amp": "counts/s/pixel", "source_center_x": "arcsec", "source_center_y": "arcsec",
                  "source_scale": "arcsec/pixel", "source_phi_G": "rad", "source_image_index": "index"}


def record_units(dataset: DatasetConfig) -> dict[str, str]:
    """Units of every record field images of ``dataset`` can have (the union over its classes)."""
    units = dict(BASE_RECORD_UNITS)
    if dataset.source.profile == "INTERPOL":
        for key in SERSIC_UNITS:
            units.pop(f"source_{key}")
        units.update(INTERPOL_UNITS)
    if dataset.lens.mass is not None:
        units["lens_mass"] = "Msun"
    if dataset.lens.profile == "EPL":
        units["lens_gamma"] = "1"
    if dataset.lens_light is not None:
        units.update({f"lens_light_{k}": u for k, u in SERSIC_UNITS.items()})
    for cls in dataset.classes:
        units.update(SCENARIOS.get(cls.scenario).record_units)
    return units


@dataclass(frozen=True)
class SimulatedImage:
    image: np.ndarray  # (band, y, x) float32, noisy, counts/s
    noiseless: np.ndarray  # (band, y, x) float64
    record: dict[str, float]


def _ellipticity(light: LightConfig, rng: np.random.Generator) -> tuple[float, float]:
    """(e1, e2) drawn directly, or from axis ratio q and angle phi."""
    if light.q is None:
        return draw(light.e1, rng), draw(light.e2, rng)
    q, phi = draw(light.q, rng), draw(light.phi, rng)
    e = (1.0 - q) / (1.0 + q)
    return e * np.cos(2 * phi), e * np.sin(2 * phi)


def _centre(light: LightConfig, rng: np.random.Generator) -> tuple[float, float]:
    """(center_x, center_y) drawn directly, or from a polar offset."""
    if light.r_offset is None:
        return draw(light.center_x, rng), draw(light.center_y, rng)
    r, phi = draw(light.r_offset, rng), draw(light.phi_offset, rng)
    return float(r * np.cos(phi)), float(r * np.sin(phi))


def draw_sersic(light: LightConfig, rng: np.random.Generator) -> dict[str, float]:
    """The parameters of an elliptical Sérsic profile for one image."""
    out = {key: draw(getattr(light, key), rng) for key in ("amp", "R_sersic", "n_sersic")}
    out["e1"], out["e2"] = (float(v) for v in _ellipticity(light, rng))
    out["center_x"], out["center_y"] = _centre(light, rng)
    return out


def draw_source(src: SourceConfig, rng: np.random.Generator) -> tuple[Component, dict[str, float]]:
    """The source component and its record fields (``source_*``)."""
    if src.profile == "SERSIC_ELLIPSE":
        kw = draw_sersic(src, rng)
        return Component("SERSIC_ELLIPSE", kw), {f"source_{k}": v for k, v in kw.items()}
    images = load_source_images(src.images)  # type: ignore[arg-type]
    index = int(rng.integers(0, len(images)))
    kw = {key: draw(getattr(src, key), rng) for key in ("amp", "phi_G", "scale")}
    kw["center_x"], kw["center_y"] = _centre(src, rng)
    record = {f"source_{k}": v for k, v in kw.items()} | {"source_image_index": float(index)}
    return Component("INTERPOL", {"image": images[index], **kw}), record


def draw_system(
    dataset: DatasetConfig, cls: ClassConfig, streams: dict[str, np.random.Generator]
) -> tuple[LensSystem, dict[str, float]]:
    """The physical system of one image and the drawn values that define it."""
    cosmo = dataset.cosmology
    lens_cfg = dataset.lens
    rl, rs = streams["lens"], streams["source"]
    record: dict[str, float] = {}
    if lens_cfg.mass is not None:
        record["lens_mass"] = draw(lens_cfg.mass, rl)
        theta_e = point_mass_einstein_radius(
            record["lens_mass"], dataset.z_lens, dataset.z_source, *cosmo.parameters, distances=cosmo.mass_distances
        )
    else:
        theta_e = draw(lens_cfg.theta_E, rl)
    main = {"theta_E": float(theta_e)}
    if lens_cfg.profile == "EPL":
        main["gamma"] = draw(lens_cfg.gamma, rl)
    for key in ("e1", "e2", "center_x", "center_y"):
        main[key] = draw(getattr(lens_cfg, key), rl)
    if lens_cfg.gamma_ext is None:
        shear = {"gamma1": draw(lens_cfg.gamma1, rl), "gamma2": draw(lens_cfg.gamma2, rl)}
    else:
        g, psi = draw(lens_cfg.gamma_ext, rl), draw(lens_cfg.psi_ext, rl)
        shear = {"gamma1": float(g * np.cos(2 * psi)), "gamma2": float(g * np.sin(2 * psi))}
    source, source_record = draw_source(dataset.source, rs)
    record.update({f"lens_{k}": v for k, v in main.items()})
    record.update({f"shear_{k}": v for k, v in shear.items()})
    record.update(source_record)
    lens_light = []
    if dataset.lens_light is not None:
        kw = draw_sersic(dataset.lens_light, rl)
        kw["center_x"] += main["center_x"]  # lens light follows the lens
        kw["center_y"] += main["center_y"]
        lens_light = [Component("SERSIC_ELLIPSE", kw)]
        record.update({f"lens_light_{k}": v for k, v in kw.items()})

    ctx = LensContext(
        dataset.z_lens, dataset.z_source, cosmo.H0, cosmo.Om0, cosmo.Ob0, main["center_x"], main["center_y"], cosmo.mass_distances
    )
    sub = make_scenario(cls.scenario, cls.params).draw(ctx, streams["substructure"])
    record.update(sub.summary)
    system = LensSystem(
        z_lens=dataset.z_lens,
        z_source=dataset.z_source,
        lens=[Component(lens_cfg.profile, main), Component("SHEAR", shear), *sub.components],
        source_light=[source],
        lens_light=lens_light,
        cosmology=(cosmo.H0, cosmo.Om0, cosmo.Ob0),
    )
    return system, record


def integrated_snr(noiseless: np.ndarray, exposure_time: float, background_rms: float) -> float:
    """Σ S / sqrt(Σ σ²) over pixels with S > background_rms (see the module docstring)."""
    mask = noiseless > background_rms
    if not mask.any():
        return 0.0
    sigma = noise_sigma(noiseless[mask], exposure_time, background_rms)
    return float(noiseless[mask].sum() / np.sqrt((sigma**2).sum()))


def render_bands(system: LensSystem, dataset: DatasetConfig) -> np.ndarray:
    """Noiseless (band, y, x) image from the dataset's backend: each band scales source and lens
    light and has its PSF."""
    inst = dataset.instrument
    render_parts = render_parts_function(dataset.backend)
    parts: dict[float, tuple[np.ndarray, np.ndarray]] = {}
    out = np.empty(inst.image_shape)
    for b, band in enumerate(inst.bands):
        fwhm = band.psf_fwhm or inst.psf_fwhm
        if fwhm not in parts:
            parts[fwhm] = render_parts(system, inst.num_pix, inst.pixel_scale, fwhm, inst.supersampling)
        src, light = parts[fwhm]
        out[b] = src if band.source_scale == 1.0 and not system.lens_light else (
            band.source_scale * src + band.lens_light_scale * light
        )
    return out


def simulate_image(dataset: DatasetConfig, cls: ClassConfig, seed: int) -> SimulatedImage:
    """Simulate one image of class ``cls`` from its 64-bit ``seed`` alone."""
    streams = image_streams(seed)
    system, record = draw_system(dataset, cls, streams)
    inst = dataset.instrument
    exposure = draw(inst.exposure_time, streams["instrument"])
    noiseless = render_bands(system, dataset)
    record["exposure_time"] = exposure
    if not inst.noise:  # noiseless images, as the original DeepLense Models II and III
        record["peak_snr"] = record["snr"] = float("nan")
        return SimulatedImage(noiseless.astype(np.float32), noiseless, record)
    noisy = np.empty_like(noiseless)
    for b, band in enumerate(inst.bands):
        bkg = inst.background_rms if band.background_rms is None else band.background_rms
        noisy[b] = add_noise(noiseless[b], exposure, bkg, streams["noise"])
    bkg0 = inst.background_rms if inst.bands[0].background_rms is None else inst.bands[0].background_rms
    first = noiseless[0]
    peak = np.unravel_index(np.argmax(first), first.shape)
    record["peak_snr"] = float(first[peak] / noise_sigma(first[peak], exposure, bkg0))
    record["snr"] = integrated_snr(first, exposure, bkg0)
    return SimulatedImage(noisy.astype(np.float32), noiseless, record)
