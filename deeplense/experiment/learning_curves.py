"""Learning curves: one model trained on the first N training images of each class for several
N, expanded into ordinary models before validation (as sweeps are), so each point trains,
evaluates and reruns like any model; the report plots the test metric against N.

    learning_curves:
      resnet18:
        model: resnet18                      # the model whose training set grows
        images_per_class: [250, 500, 1000]   # models resnet18__n250, ...; the model itself is the last point
        metric: auc_macro                    # plotted, with its 95% interval (dotted path in metrics.json)

Smaller training sets are subsets of larger ones (the first N of each class in store order), and
the validation and test splits are the model's own, so the points differ only in training data.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import Field, field_validator

from deeplense.validation import Problem, StrictModel, collected, not_one_of, problem, told_as_written, validate_at, validate_entries


class LearningCurveConfig(StrictModel):
    model: str = Field(description="the model trained on growing training sets")
    images_per_class: list[int] = Field(min_length=1, description="training images per class of the smaller points, ascending")
    metric: str = Field("auc_macro", description="metric plotted against the training images (dotted path in metrics.json)")

    @field_validator("images_per_class")
    @classmethod
    def _ascending(cls, values: list[int]) -> list[int]:
        if any(v <= 0 for v in values) or values != sorted(set(values)):
            raise ValueError("must be positive and strictly ascending, e.g. [250, 500, 1000]")
        return values


def point_name(model: str, images: int) -> str:
    return f"{model}__n{images}"


def expand_learning_curves(raw: dict[str, Any], problems: list[Problem] | None = None) -> dict[str, Any]:
    """The config with each learning curve's points added as models (raw mapping in, out). ``problems``: where an
    entry's problems go (that entry is then left out); raised when None."""
    curves = raw.get("learning_curves") or {}
    if not curves:
        return raw
    out = copy.deepcopy(raw)
    models = out.setdefault("models", {}) or {}
    out["models"] = models
    for name, spec in curves.items():
        with collected(problems):
            at = ("learning_curves", name)
            curve = validate_at(LearningCurveConfig, spec, *at)
            if curve.model not in models:
                raise problem(not_one_of("not a model", curve.model, [m for m in models if "__" not in m]), *at, "model", value=curve.model)
            base = {k: v for k, v in raw["models"][curve.model].items() if k != "reproduces"}  # the full model is compared
            for n in curve.images_per_class:
                models[point_name(curve.model, n)] = {**base, "train_images_per_class": n}
    return out


def curve_points(raw: dict[str, Any], name: str) -> list[str]:
    """The models of learning curve ``name``: its points, then the full model."""
    curve = LearningCurveConfig.model_validate(raw["learning_curves"][name])
    return [point_name(curve.model, n) for n in curve.images_per_class] + [curve.model]


def _origins(raw: dict[str, Any]) -> dict[tuple[str, str], tuple[str, tuple[str, int, int]]]:
    """("models", generated name) → (base model, (curve, index of its point, its images per
    class)) for every point of the raw config's learning curves."""
    out: dict[tuple[str, str], tuple[str, tuple[str, int, int]]] = {}
    curves = raw.get("learning_curves")
    valid, _ = validate_entries(LearningCurveConfig, curves if isinstance(curves, dict) else {}, "learning_curves")
    for name, curve in valid.items():
        for i, n in enumerate(curve.images_per_class):
            out["models", point_name(curve.model, n)] = (curve.model, (name, i, n))
    return out


def as_written(problems: list[Problem], raw: dict[str, Any]) -> list[Problem]:
    """Problems found in the models a learning curve generated, told as the user wrote the curve,
    at the point's ``learning_curves.<name>.images_per_class[i]``: one its base model has too is
    dropped (it is reported there); one of its training images as it is; any other as what the
    point gives."""

    def tell(p: Problem, in_base: Problem, origin: tuple[str, int, int]) -> Problem:
        name, index, images = origin
        message = p.message if p.loc[2:] == ("train_images_per_class",) else f"gives {in_base.line()}"
        return Problem(("learning_curves", name, "images_per_class", index), message, images, p.kind)

    return told_as_written(problems, _origins(raw), tell)
