"""The physical system of one image, drawn from its dataset config and class: the main lens
(SIE or EPL, from an Einstein radius or a mass), the external shear, the source (Sérsic or a
real-galaxy image), the lens light, and the class's dark-matter substructure, each from its own
random stream; with the record of every drawn value (enough to regenerate the image from its seed).
Renderer-independent: the backends in deeplense.simulation turn the system into pixels."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from deeplense.physics.components import Component, LensSystem
from deeplense.physics.cosmology import point_mass_einstein_radius
from deeplense.physics.distributions import draw
from deeplense.physics.scenarios import LensContext, make_scenario
from deeplense.physics.source_images import load_source_images

if TYPE_CHECKING:
    from deeplense.config import ClassConfig, DatasetConfig, LightConfig, SourceConfig


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
