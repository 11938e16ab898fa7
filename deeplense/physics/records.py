"""What every image records: the units of each per-image record field (the drawn parameters of
the main lens, the shear, the source and the lens light, the exposure and signal-to-noise, and
each scenario's own), so a store can declare them and a regression can target them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from deeplense.physics.scenarios import COMMON_RECORD_UNITS, SCENARIOS

if TYPE_CHECKING:
    from deeplense.config import DatasetConfig

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
