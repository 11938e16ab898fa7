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

from pydantic import Field, field_validator, model_validator

from deeplense.config import ConfigChecks, ExperimentConfig, written_names
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
    resize: bool = Field(False, description="resample images at another pixel scale to the model's grid, conserving flux")
    crop: bool = Field(False, description="cut the model's field of view from the centre of larger images (then resample with `resize`)")
    all_classes: bool = Field(False, description="with `dataset`: images of every class, not only the model's")
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
        flags = [f"--{name.replace('_', '-')}" for name in ("resize", "crop", "all_classes") if getattr(self, name)]
        return out + ["--batch-size", str(self.batch_size)] + flags


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
    the model does not take (``geometry.fit_grid``, as ``LoadedModel.check_input``: another band
    count; another size, pixel scale or field of view that ``crop``/``resize`` do not cover), or a
    ``split`` that selects no image of the model's classes (of any class with ``all_classes``;
    split by the model's fractions, as predict splits a store)."""
    from deeplense.predict.geometry import fit_grid
    from deeplense.predict.inputs import InputError

    model = cfg.models[p.model]
    trained, given = cfg.datasets[model.dataset], cfg.datasets[p.dataset]
    (bands, size, _), scale = trained.instrument.image_shape, trained.instrument.pixel_scale
    out = []
    try:
        fit_grid("its images", given.instrument.image_shape, given.instrument.pixel_scale, p.model, bands, size, scale,
                 resize=p.resize, crop=p.crop, config=True)
    except InputError as e:
        out.append(Problem(("dataset",), str(e), p.dataset))
    model_classes = model.classes or trained.class_names
    counts = {c: n for c, n in given.split_images(trained.split).items() if p.all_classes or c in model_classes}
    if p.split is not None and not sum(n[p.split] for n in counts.values()):
        f = trained.split
        which = "" if p.all_classes or set(given.class_names) <= set(model_classes) else f" of model {p.model}'s classes ({', '.join(model_classes)})"
        out.append(Problem(("split",), f"selects no image{which}: split by model {p.model}'s fractions (train {f.train:g}, val {f.val:g}, "
                                       f"test {f.test:g}), dataset {p.dataset} has none in {p.split}", p.split))
    return out
