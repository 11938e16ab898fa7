"""What every image records: the unit and a one-line description of each per-image record field
(the drawn parameters of the main lens, the shear, the source and the lens light, the exposure and
signal-to-noise, the common substructure summary and each scenario's own, declared with the
scenario), so a store can declare them and a regression can target them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from deeplense.physics.scenarios import COMMON_RECORD_FIELDS, SCENARIOS, RecordField

if TYPE_CHECKING:
    from deeplense.config import DatasetConfig

SERSIC_FIELDS = {
    "amp": RecordField("counts/s/arcsec2", "amplitude, the surface brightness at the half-light radius"),
    "R_sersic": RecordField("arcsec", "half-light radius"),
    "n_sersic": RecordField("1", "Sérsic index"),
    "e1": RecordField("1", "ellipticity component e1"),
    "e2": RecordField("1", "ellipticity component e2"),
    "center_x": RecordField("arcsec", "centre, x"),
    "center_y": RecordField("arcsec", "centre, y"),
}


def _sersic_fields(prefix: str, what: str) -> dict[str, RecordField]:
    return {f"{prefix}{k}": RecordField(f.unit, f"{what}: {f.description}") for k, f in SERSIC_FIELDS.items()}


# The record fields that every image has; scenarios add their own.
BASE_RECORD_FIELDS: dict[str, RecordField] = {
    "lens_theta_E": RecordField("arcsec", "Einstein radius of the main lens"),
    "lens_e1": RecordField("1", "ellipticity component e1 of the main lens's mass"),
    "lens_e2": RecordField("1", "ellipticity component e2 of the main lens's mass"),
    "lens_center_x": RecordField("arcsec", "centre of the main lens, x"),
    "lens_center_y": RecordField("arcsec", "centre of the main lens, y"),
    "shear_gamma1": RecordField("1", "external shear component gamma1"),
    "shear_gamma2": RecordField("1", "external shear component gamma2"),
    **_sersic_fields("source_", "Sérsic source"),
    "exposure_time": RecordField("s", "total exposure time of the image (the instrument's draw)"),
    "peak_snr": RecordField("1", "signal-to-noise of the brightest pixel of the first band"),
    "snr": RecordField("1", "integrated signal-to-noise of the lensed light over the pixels above the 1σ background, first band"),
    **COMMON_RECORD_FIELDS,
}
# An image source (``source.profile: INTERPOL``) records these instead of the Sérsic ones.
INTERPOL_FIELDS: dict[str, RecordField] = {
    "source_amp": RecordField("counts/s/pixel", "amplitude the source image (normalised to peak 1) is multiplied by"),
    "source_center_x": RecordField("arcsec", "source centre, x"),
    "source_center_y": RecordField("arcsec", "source centre, y"),
    "source_scale": RecordField("arcsec/pixel", "pixel size of the source image on the sky"),
    "source_phi_G": RecordField("rad", "rotation of the source image on the sky"),
    "source_image_index": RecordField("index", "which image of the source folder or array was drawn"),
}
# Fields recorded when the dataset's lens sets them.
LENS_MASS_FIELD = {"lens_mass": RecordField("Msun", "mass of the point-mass main lens (its Einstein radius follows from it)")}
LENS_GAMMA_FIELD = {"lens_gamma": RecordField("1", "power-law slope of the EPL main lens's mass (2: isothermal)")}
LENS_LIGHT_FIELDS = _sersic_fields("lens_light_", "Sérsic lens light")

# Record fields renamed in deeplense 0.9, old name -> new name: a config that still names an old
# field is told the new one.
RENAMED_RECORD_FIELDS = {
    "n_subhalos": "n_halos",
    "sub_mass_total": "halo_mass_total",
    "sub_mass_max": "halo_mass_max",
    "mass_in_subhalos": "subhalo_mass_total",
}


def renamed_note(name: str) -> str:
    """``"; record field 'n_subhalos' was renamed to 'n_halos' in deeplense 0.9"`` when ``name``
    (or a dotted metric path holding it) names a renamed record field; else empty."""
    for part in str(name).split("."):
        if part in RENAMED_RECORD_FIELDS:
            return f"; record field {part!r} was renamed to {RENAMED_RECORD_FIELDS[part]!r} in deeplense 0.9"
    return ""


def record_fields(dataset: DatasetConfig) -> dict[str, RecordField]:
    """Unit and description of every record field images of ``dataset`` can have (the union over its classes)."""
    fields = dict(BASE_RECORD_FIELDS)
    if dataset.source.profile == "INTERPOL":
        for key in SERSIC_FIELDS:
            fields.pop(f"source_{key}")
        fields.update(INTERPOL_FIELDS)
    if dataset.lens.mass is not None:
        fields.update(LENS_MASS_FIELD)
    if dataset.lens.profile == "EPL":
        fields.update(LENS_GAMMA_FIELD)
    if dataset.lens_light is not None:
        fields.update(LENS_LIGHT_FIELDS)
    for cls in dataset.classes:
        fields.update(SCENARIOS.get(cls.scenario).record_fields)
    return fields


def record_attrs(dataset: DatasetConfig) -> dict[str, dict[str, str]]:
    """Each record field's store attributes: ``{"units": ..., "description": ...}``."""
    return {name: {"units": f.unit, "description": f.description} for name, f in record_fields(dataset).items()}


def record_units(dataset: DatasetConfig) -> dict[str, str]:
    """Units of every record field images of ``dataset`` can have (the union over its classes)."""
    return {name: f.unit for name, f in record_fields(dataset).items()}
