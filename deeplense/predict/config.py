"""The experiment's ``predictions:``: a trained model of ``models:`` applied to a dataset of the
experiment (all of it or a split) or to images outside it (FITS cutouts, Zarr, ``.npy``), each a
Snakemake job running ``deeplense predict``, with a report of its score distribution and
top-ranked images. For example::

    predictions:
      cdm_candidates:
        model: resnet18
        input: [survey/cutouts]       # files, folders or globs; or `dataset: demo` (+ `split: test`)
        rank_by: cdm                  # a class (classification) or target (regression)
        top: 16
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from deeplense.config import ConfigChecks, ExperimentConfig, written_names
from deeplense.predict.model import PIXEL_SCALE_RTOL
from deeplense.tasks import TASKS
from deeplense.validation import Problem, StrictModel, not_one_of, problem, validate_entries


class PredictionConfig(StrictModel):
    """One prediction set: a model over an input, and what the report ranks it by."""

    model: str = Field(description="a model of `models:`")
    dataset: str | None = Field(None, description="a dataset of the experiment (its store) to predict on")
    split: Literal["train", "val", "test"] | None = Field(None, description="with `dataset`: only this split (the model's fractions)")
    input: list[str] | None = Field(None, min_length=1, description="images outside the workflow: FITS files, folders or globs, a Zarr store, .npy stacks")
    variable: str | None = Field(None, description="of an xarray dataset input: its image variable")
    sample_dim: str | None = Field(None, description="of an xarray dataset input: its dimension along images")
    band_dim: str | None = Field(None, description="of an xarray dataset input: its band dimension")
    fits_ext: int | str | None = Field(None, description="of FITS inputs: the extension holding the image")
    resize: bool = Field(False, description="resample images of another size to the model's (same field of view)")
    workers: int = Field(2, ge=1, le=1024, description="Dask workers (the job's threads)")
    batch_size: int = Field(128, ge=1, le=65536)
    block: int | None = Field(None, ge=1, description="images per Dask task (default: at least 1024, in whole Zarr chunks of the input)")
    rank_by: str | None = Field(None, description="what the report ranks images by: a class's probability or a target; anomaly models rank by score")
    top: int = Field(16, ge=1, le=64, description="top-ranked images shown in the report")

    @field_validator("input", mode="before")
    @classmethod
    def _one_input(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _one_source(self) -> "PredictionConfig":
        if (self.dataset is None) == (self.input is None):
            raise problem("give exactly one of `dataset` (a dataset of the experiment) and `input` (paths of images)", "dataset")
        if self.split is not None and self.dataset is None:
            raise problem("`split` selects samples of a `dataset`; an `input` is predicted whole", "split", value=self.split)
        return self

    def command_options(self) -> list[str]:
        """The ``deeplense predict`` options this entry sets (besides model, inputs and output)."""
        out: list[str] = []
        for name in ("split", "variable", "sample_dim", "band_dim", "fits_ext", "block"):
            value = getattr(self, name)
            if value is not None:
                out += [f"--{name.replace('_', '-')}", str(value)]
        return out + ["--batch-size", str(self.batch_size)] + (["--resize"] if self.resize else [])


def rank_choices(cfg: ExperimentConfig, model: str) -> list[str]:
    """What a prediction set of ``model`` may be ranked by: its classes, its targets, or its score."""
    m = cfg.models[model]
    if m.task == "classification":
        return list(m.classes or cfg.datasets[m.dataset].class_names)
    if TASKS.get(m.task).uses_targets:
        return list(m.targets)
    return ["score"]


def prediction_config(cfg: ExperimentConfig, name: str) -> PredictionConfig:
    return PredictionConfig.model_validate(cfg.predictions[name])


def prediction_problems(cfg: ExperimentConfig, checks: ConfigChecks | None = None) -> list[Problem]:
    """Every problem of the config's predictions, at paths from the top level; ``checks``: also
    whether each ``input`` names images on this machine."""
    valid, out = validate_entries(PredictionConfig, cfg.predictions, "predictions")
    for name, p in valid.items():
        at = ("predictions", name)
        if p.model not in cfg.models:
            out.append(Problem((*at, "model"), not_one_of("not a model", p.model, written_names(cfg.models)), p.model))
            continue
        if p.input is not None and checks is not None:
            out += [Problem((*at, *q.loc), q.message, q.value) for q in checks.prediction_input(p.input)]
        if p.dataset is not None and p.dataset not in cfg.datasets:
            out.append(Problem((*at, "dataset"), not_one_of("not a dataset", p.dataset, written_names(cfg.datasets)), p.dataset))
        elif p.dataset is not None:
            out += [Problem((*at, *q.loc), q.message, q.value) for q in _dataset_problems(cfg, p)]
        allowed = rank_choices(cfg, p.model)
        if p.rank_by is not None and p.rank_by not in allowed:
            out.append(Problem((*at, "rank_by"), not_one_of(f"model {p.model} predicts no such value", p.rank_by, allowed), p.rank_by))
    return out


def _dataset_problems(cfg: ExperimentConfig, p: PredictionConfig) -> list[Problem]:
    """What ``deeplense predict`` would refuse of a prediction on a dataset of the experiment: images
    the model does not take (as ``LoadedModel.check_input``: another band count; another size,
    unless ``resize``; another pixel scale, or with ``resize`` another field of view), or a
    ``split`` that selects no image (split by the model's fractions, as predict splits a store)."""
    model = cfg.models[p.model]
    trained, given = cfg.datasets[model.dataset], cfg.datasets[p.dataset]
    (bands, size, _), scale = trained.instrument.image_shape, trained.instrument.pixel_scale
    (b, y, _), s = given.instrument.image_shape, given.instrument.pixel_scale
    expects = f"model {p.model} expects {bands} band(s) of {size}×{size} pixels at {scale:g}″/pixel"
    why = None
    if b != bands:
        why = f"its images have {b} band(s); {expects}"
    elif y != size and not p.resize:
        why = f"its images are {y}×{y} pixels; {expects}; set resize: true to resample them"
    elif p.resize and not np.isclose(y * s, size * scale, rtol=PIXEL_SCALE_RTOL):
        why = f"a field of view of {y * s:.4g}″ ({y} pixels of {s:g}″); {expects} ({size * scale:.4g}″): resampling cannot change the field of view"
    elif not p.resize and not np.isclose(s, scale, rtol=PIXEL_SCALE_RTOL):
        why = f"pixel scale {s:g}″; {expects}; set resize: true to resample them (the field of view must agree)"
    out = [Problem(("dataset",), why, p.dataset)] if why else []
    if p.split is not None and not sum(n[p.split] for n in given.split_images(trained.split).values()):
        f = trained.split
        out.append(Problem(("split",), f"selects no image: split by model {p.model}'s fractions (train {f.train:g}, val {f.val:g}, "
                                       f"test {f.test:g}), dataset {p.dataset} has none in {p.split}", p.split))
    return out
