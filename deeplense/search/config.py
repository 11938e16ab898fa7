"""A search's config (one entry of the experiment's ``searches:``): the base model, the space of
model settings to sample, the objective(s), Optuna's sampler and pruner, and the budget.

    searches:
      cls_search:
        model: resnet18                 # base model: its dataset, task and every unsampled setting
        space:
          lr: {type: float, low: 1.0e-4, high: 1.0e-2, log: true}
          batch_size: {type: int, low: 8, high: 32, step: 8}
          optimizer: {type: categorical, choices: [adamw, sam]}
          architecture:                 # architecture search: each choice its own sub-space
            type: categorical
            choices:
              resnet18: {}
              vit_tiny_patch16_224: {architecture_args.depth: {type: int, low: 2, high: 6}}
        objective: val_auc              # a validation metric of the task (its direction too)
        second_objective: params        # params | inference_time: a Pareto front
        sampler: tpe                    # tpe | cmaes | nsga2 | random | grid
        pruner: median                  # median | hyperband | none
        n_trials: 20
        workers: 2                      # parallel worker jobs sharing the study
        trial_epochs: 3                 # epochs of a trial; the best config trains the model's epochs

Only pydantic here (no Optuna, no torch): the config is validated before any job runs.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from annotated_types import MinLen
from pydantic import Discriminator, Field, Tag, model_validator

from deeplense.validation import StrictModel, problem

ARCHITECTURE_ARGS = "architecture_args."
# Model settings a search may not sample: what the model is trained on and for, and how it is
# run (not what it learns); `epochs` is sampled like any setting (trials still use trial_epochs).
NOT_SEARCHABLE = frozenset({"dataset", "task", "classes", "targets", "normal_class", "train_images_per_class", "monitor", "evaluate_on",
                            "reproduces", "device", "num_workers", "threads", "shuffle_buffer_mb", "pretrained", "checkpoint"})


class FloatParam(StrictModel):
    """A real number in [low, high]: uniform, log-uniform (``log``), or on a grid of ``step``."""

    type: Literal["float"]
    low: float
    high: float
    log: bool = Field(False, description="log-uniform (both bounds > 0)")
    step: float | None = Field(None, gt=0, description="sample low, low + step, ... only")

    @model_validator(mode="after")
    def _range(self) -> "FloatParam":
        _check_range(self)
        return self

    def values(self) -> list[Any] | None:
        """The finite set of values (a grid search needs one), or None."""
        if self.step is None:
            return None
        n = int(round((self.high - self.low) / self.step))
        return [min(self.high, round(self.low + i * self.step, 12)) for i in range(n + 1)]  # no 0.009000000000000001


class IntParam(StrictModel):
    """An integer in [low, high] with ``step`` (default 1), optionally log-uniform."""

    type: Literal["int"]
    low: int
    high: int
    step: int = Field(1, gt=0)
    log: bool = Field(False, description="log-uniform (low > 0, step 1)")

    @model_validator(mode="after")
    def _range(self) -> "IntParam":
        _check_range(self)
        if self.log and self.step != 1:
            raise problem("a log-uniform int takes step 1 (Optuna's rule); allowed: log: false or step: 1", "step", value=self.step)
        return self

    def values(self) -> list[Any]:
        return list(range(self.low, self.high + 1, self.step))


class CategoricalParam(StrictModel):
    """One of ``choices``: a list of values, or a mapping of choice → its own conditional
    sub-space (sampled only when that choice is: an architecture with its own arguments)."""

    type: Literal["categorical"]
    choices: Annotated[
        Union[Annotated[list[Any], MinLen(1), Tag("list")], Annotated[dict[str, dict[str, "ParamSpec"]], MinLen(1), Tag("dict")]],
        Discriminator(lambda v: "dict" if isinstance(v, dict) else "list"),
    ]

    @model_validator(mode="after")
    def _scalar_choices(self) -> "CategoricalParam":
        for i, choice in enumerate(self.values()):
            if choice is not None and not isinstance(choice, (bool, int, float, str)):
                raise problem("a choice must be a number, string, boolean or null (Optuna stores it as one); "
                              "give a list setting as several fields", "choices", i, value=choice)
        return self

    def values(self) -> list[Any]:
        return list(self.choices)

    def subspace(self, choice: Any) -> dict[str, "ParamSpec"]:
        """The parameters sampled when ``choice`` is (none for a plain list)."""
        return self.choices.get(choice, {}) if isinstance(self.choices, dict) else {}

    @property
    def conditional(self) -> bool:
        return isinstance(self.choices, dict) and any(self.choices.values())


ParamSpec = Annotated[Union[FloatParam, IntParam, CategoricalParam], Field(discriminator="type")]
CategoricalParam.model_rebuild()


def _check_range(spec: FloatParam | IntParam) -> None:
    if spec.low >= spec.high:
        raise problem(f"empty range: low must be below high ({spec.high!r})", "low", value=spec.low)
    if spec.log and spec.low <= 0:
        raise problem("a log-uniform range needs low > 0", "low", value=spec.low)


class SearchConfig(StrictModel):
    """A hyperparameter and architecture search over the settings of one base model."""

    model: str = Field(description="the base model (an entry of `models`): dataset, task and every setting not sampled")
    space: dict[str, ParamSpec] = Field(min_length=1, description="model field (or architecture_args.KEY) → how it is sampled")
    objective: str | None = Field(None, description="validation metric to optimise (a `monitor` of the task); default the model's monitor")
    second_objective: Literal["params", "inference_time"] | None = Field(
        None, description="a second objective, minimised: parameter count, or measured inference seconds per image (Pareto front)"
    )
    sampler: Literal["tpe", "cmaes", "nsga2", "random", "grid"] = "tpe"
    pruner: Literal["median", "hyperband", "none"] = "median"
    n_trials: int = Field(20, gt=0, description="trials (finished, pruned or failed) the study runs in all")
    workers: int = Field(1, gt=0, le=1000, description="parallel worker jobs (a SLURM array on a cluster)")
    trial_epochs: int | None = Field(None, gt=0, description="epochs of each trial (default: the model's epochs)")
    seed: int = Field(0, ge=0, lt=2**32, description="seed of the sampler (with one worker: the same trials in the same order)")
    storage: str | None = Field(
        None, description="an RDB URL (postgresql://..., mysql://...) for workers on several nodes; default the journal file "
        "results/searches/<name>/journal.log (one machine or a shared filesystem)"
    )

    @model_validator(mode="after")
    def _sampler_fits(self) -> "SearchConfig":
        params = flat_space(self.space)
        if self.sampler == "cmaes":
            categorical = [name for name, spec in params if isinstance(spec, CategoricalParam)]
            if categorical:
                raise problem(f"CMA-ES samples numbers only, and the space has categorical {', '.join(categorical)}; "
                              "allowed: tpe, nsga2, random (or make the space numeric)", "sampler", value=self.sampler)
        if self.sampler == "grid":
            endless = [name for name, spec in params if spec.values() is None]
            conditional = [name for name, spec in params if isinstance(spec, CategoricalParam) and spec.conditional]
            if endless or conditional:
                why = f"{', '.join(endless)} has no step" if endless else f"{', '.join(conditional)} has conditional sub-spaces"
                raise problem(f"a grid needs a fixed, finite space, and {why}; allowed: tpe, random, nsga2, or give every "
                              "number a step and no choice a sub-space", "sampler", value=self.sampler)
        if self.second_objective and self.pruner != "none":
            raise problem("Optuna cannot prune a study with two objectives; allowed: none (or drop second_objective)",
                          "pruner", value=self.pruner)
        if self.sampler == "cmaes" and self.second_objective:
            raise problem("CMA-ES optimises one objective; allowed: nsga2, tpe, random", "sampler", value=self.sampler)
        return self

    @property
    def n_objectives(self) -> int:
        return 2 if self.second_objective else 1


# Where pydantic's paths name a union member rather than a field (the discriminator's tags).
UNION_TAGS = frozenset({"float", "int", "categorical", "list", "dict"})


def without_union_tags(loc: tuple[str | int, ...]) -> tuple[str | int, ...]:
    """A problem's path as the user wrote it: ``space.lr.float.low`` → ``space.lr.low``."""
    return tuple(part for part in loc if part not in UNION_TAGS)


def flat_space(space: dict[str, ParamSpec], prefix: str = "") -> list[tuple[str, ParamSpec]]:
    """(Optuna parameter name, spec) of every parameter, sub-spaces included: a parameter of
    choice C of categorical P is named ``P=C/field`` (each branch its own distribution)."""
    out: list[tuple[str, ParamSpec]] = []
    for field, spec in space.items():
        out.append((prefix + field, spec))
        if isinstance(spec, CategoricalParam) and isinstance(spec.choices, dict):
            for choice, sub in spec.choices.items():
                out += flat_space(sub, f"{prefix}{field}={choice}/")
    return out


def model_field(name: str) -> str:
    """The ModelConfig field a space entry sets (``architecture_args.drop_rate`` → architecture_args)."""
    return "architecture_args" if name.startswith(ARCHITECTURE_ARGS) else name


def best_model_name(search: str) -> str:
    """The model the best trial's config is trained as."""
    return f"{search}_best"


def apply(base: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    """The model config ``base`` with sampled ``settings`` (field or ``architecture_args.KEY`` →
    value). A sampled ``architecture`` other than the base's drops the base's architecture_args
    (they belong to another network); sampled arguments are then added."""
    out = {**base, "architecture_args": dict(base.get("architecture_args") or {})}
    if "architecture" in settings and settings["architecture"] != base.get("architecture"):
        out["architecture_args"] = {}
    for name, value in settings.items():
        if name.startswith(ARCHITECTURE_ARGS):
            out["architecture_args"][name.removeprefix(ARCHITECTURE_ARGS)] = value
        else:
            out[name] = value
    return out
