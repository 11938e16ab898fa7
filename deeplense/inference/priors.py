"""The prior of an inferred parameter, read from the dataset's own config (the distribution each
image's value was drawn from), never restated by hand: a per-image record field is traced back to
the class parameter, lens or source setting that drew it, and that distribution becomes a
scipy.stats frozen distribution (density, support, draws)."""

from __future__ import annotations

from typing import Any

import numpy as np

# Record fields of the main lens and the source: the setting of the dataset's `lens` / `source`
# each one records (shear is set on the lens).
_LENS_FIELDS = {"shear_gamma1": ("lens", "gamma1"), "shear_gamma2": ("lens", "gamma2")}
CONTINUOUS = ("uniform", "log_uniform", "normal", "truncated_normal")


class PriorError(ValueError):
    """A target whose prior cannot be read from the dataset config: the message says why."""


def _setting(dataset: dict[str, Any], cls: dict[str, Any], field: str) -> tuple[str, Any] | None:
    """(where, value) of the config setting that draws record field ``field`` for class ``cls``,
    or None where nothing in the config draws it (a derived quantity, such as a halo count)."""
    from deeplense.physics.scenarios import SCENARIOS

    scenario = SCENARIOS.get(cls["scenario"])
    param = scenario.record_params.get(field, field)
    if field in scenario.record_units and param in cls["params"]:
        return f"classes.{cls['name']}.params.{param}", cls["params"][param]
    if field in _LENS_FIELDS:
        part, key = _LENS_FIELDS[field]
        return f"{part}.{key}", dataset[part].get(key)
    for part in ("lens", "source"):
        prefix = f"{part}_"
        if field.startswith(prefix) and field[len(prefix):] in (dataset.get(part) or {}):
            return f"{part}.{field[len(prefix):]}", dataset[part][field[len(prefix):]]
    return None


def target_prior(dataset: dict[str, Any], classes: list[str], field: str) -> dict[str, Any]:
    """The distribution (a config dict, e.g. ``{"dist": "uniform", "low": -24, "high": -22}``) that
    drew record field ``field`` for the images of ``classes`` of a dataset config dump. Raises
    ``PriorError`` naming the setting when it is fixed, derived, discrete or differs between
    classes: a posterior needs one continuous prior."""
    return prior_setting(dataset, classes, field)[1]


def prior_setting(dataset: dict[str, Any], classes: list[str], field: str) -> tuple[list[str], dict[str, Any]]:
    """(the config path of every setting that draws ``field`` for ``classes``, e.g.
    ``["classes.axion.params.log10_m_axion"]``, and its distribution); see ``target_prior``."""
    found: dict[str, tuple[str, Any]] = {}
    for cls in dataset["classes"]:
        if cls["name"] in classes:
            setting = _setting(dataset, cls, field)
            if setting is not None:
                found[cls["name"]] = setting
    if not found:
        raise PriorError(
            f"{field} is not drawn from a distribution in the dataset config of classes {', '.join(classes)} (a derived "
            "quantity, or not recorded): a posterior target needs a configured prior"
        )
    (first, (where, value)), *others = found.items()
    for name, (other_where, other) in others:
        if other != value:
            raise PriorError(
                f"{field} is drawn as {where} = {value} for class {first} but as {other_where} = {other} for class {name}: "
                "a posterior needs one prior; select one of these classes with `classes:`"
            )
    if value is None:
        raise PriorError(f"{where} is unset (computed from other settings), so {field} has no prior to infer it under")
    if not isinstance(value, dict):
        raise PriorError(f"{where} is fixed at {value:g}: nothing to infer; draw it from a distribution, e.g. "
                         f"{{dist: uniform, low: ..., high: ...}}")
    if value.get("dist") not in CONTINUOUS:
        raise PriorError(f"{where} is drawn from a {value.get('dist')} distribution; a density estimator needs a "
                         f"continuous prior: one of {', '.join(CONTINUOUS)}")
    return [where for where, _ in found.values()] if not where.startswith(("lens.", "source.")) else [where], dict(value)


def frozen(prior: dict[str, Any]):
    """The scipy.stats frozen distribution of a config distribution dict."""
    from scipy import stats

    kind = prior["dist"]
    if kind == "uniform":
        return stats.uniform(loc=prior["low"], scale=prior["high"] - prior["low"])
    if kind == "log_uniform":
        return stats.loguniform(prior["low"], prior["high"])
    if kind == "normal":
        return stats.norm(loc=prior["mean"], scale=prior["sigma"])
    if kind == "truncated_normal":
        a, b = (prior["low"] - prior["mean"]) / prior["sigma"], (prior["high"] - prior["mean"]) / prior["sigma"]
        return stats.truncnorm(a, b, loc=prior["mean"], scale=prior["sigma"])
    raise PriorError(f"no density for a {kind} distribution; allowed: {', '.join(CONTINUOUS)}")


def support(prior: dict[str, Any]) -> tuple[float, float]:
    """The closed interval holding every value the prior can draw (±inf for a normal)."""
    lo, hi = frozen(prior).support()
    return float(lo), float(hi)


def in_support(priors: list[dict[str, Any]], values: np.ndarray) -> np.ndarray:
    """Which rows of ``values`` (..., t) lie inside every target's prior support."""
    inside = np.ones(values.shape[:-1], dtype=bool)
    for j, prior in enumerate(priors):
        lo, hi = support(prior)
        inside &= (values[..., j] >= lo) & (values[..., j] <= hi)
    return inside
