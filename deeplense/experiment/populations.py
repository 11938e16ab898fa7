"""Populations of lenses that share a global dark-matter parameter: the test of population
inference. Each population is an ordinary dataset, expanded before validation (as sweeps are):
the posterior model's dataset restricted to the model's classes, with the parameter fixed at one
value and every other parameter (the per-lens nuisances) still drawn. The values are the prior's
quantiles ((k + ½) / K), so the populations span the prior as draws from it would, without
sampling noise in where they fall.

    populations:
      axion_stack:
        model: axion_posterior        # a `posterior` model whose only target is the parameter
        parameter: log10_m_axion
        populations: 20               # datasets <dataset>__axion_stack_0 … _19
        lenses: [1, 10, 100]          # the stacked posterior is evaluated on the first N lenses of each

The model's per-lens posteriors are combined on a grid (deeplense.inference.stacking) and the
stacked intervals checked against the truth over the populations (deeplense.inference.populations).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
from pydantic import Field, ValidationError, field_validator

from deeplense.experiment.sweeps import _set
from deeplense.validation import Problem, StrictModel, collected, not_one_of, problem, validate_at


class PopulationConfig(StrictModel):
    model: str = Field(description="a `posterior` model whose only target is `parameter`")
    parameter: str = Field(description="the record field shared by every lens of a population (the model's target)")
    populations: int = Field(20, ge=2, le=1000, description="populations, at the prior's quantiles (k + ½) / K")
    lenses: list[int] = Field([1, 10, 100], min_length=1, description="lens counts at which the stacked posterior is evaluated; the largest is simulated")
    grid: int = Field(512, ge=32, le=100_000, description="grid points over the prior's support")

    @field_validator("lenses")
    @classmethod
    def _ascending(cls, values: list[int]) -> list[int]:
        if any(v <= 0 for v in values) or values != sorted(set(values)):
            raise ValueError("must be positive and strictly ascending, e.g. [1, 10, 100]")
        return values


def population_dataset(dataset: str, population: str, index: int) -> str:
    return f"{dataset}__{population}_{index}"


def population_values(prior: dict[str, Any], populations: int) -> list[float]:
    """The parameter's value in each population: the prior's (k + ½) / K quantiles."""
    from deeplense.inference.priors import frozen

    return [float(v) for v in frozen(prior).ppf((np.arange(populations) + 0.5) / populations)]


def _prior(raw: dict[str, Any], dataset: str, classes: list[str] | None, parameter: str, at: tuple) -> tuple[list[str], dict[str, Any], list[str]]:
    """(config paths that draw ``parameter``, its prior, the classes used) from the validated
    base dataset; a base dataset that does not validate is left to the main validation."""
    from deeplense.config import DatasetConfig
    from deeplense.experiment.load import _with_presets
    from deeplense.inference.priors import PriorError, prior_setting

    base = _with_presets({"datasets": {dataset: raw["datasets"][dataset]}})["datasets"][dataset]
    dump = DatasetConfig.model_validate(base).model_dump(mode="json")
    chosen = classes or [c["name"] for c in dump["classes"]]
    try:
        paths, prior = prior_setting(dump, chosen, parameter)
    except PriorError as e:
        raise problem(str(e), *at, "parameter", value=parameter) from None
    return paths, prior, chosen


def expand_populations(raw: dict[str, Any], problems: list[Problem] | None = None) -> dict[str, Any]:
    """The config with each population's datasets added (raw mapping in, out). ``problems``: where an
    entry's problems go (that entry is then left out); raised when None."""
    populations = raw.get("populations") or {}
    if not populations:
        return raw
    out = copy.deepcopy(raw)
    datasets = out.setdefault("datasets", {})
    models = out.get("models") or {}
    for name, spec in populations.items():
        with collected(problems):
            at = ("populations", name)
            pop = validate_at(PopulationConfig, spec, *at)
            model = models.get(pop.model)
            if not isinstance(model, dict):
                raise problem(not_one_of("not a model", pop.model, [m for m in models if "__" not in m]), *at, "model", value=pop.model)
            if model.get("task") != "posterior":
                raise problem(f"model {pop.model} is a {model.get('task', 'classification')} model; a population stacks the "
                              "per-lens posteriors of a `posterior` model", *at, "model", value=pop.model)
            if list(model.get("targets") or []) != [pop.parameter]:
                raise problem(f"model {pop.model} infers {model.get('targets')}; a population's model infers the shared parameter "
                              f"alone (the lens parameters are nuisances it marginalises): targets: [{pop.parameter}]",
                              *at, "parameter", value=pop.parameter)
            if model.get("dataset") not in datasets:
                continue  # the model's own problem, reported there
            try:
                paths, prior, chosen = _prior(raw, model["dataset"], model.get("classes"), pop.parameter, at)
            except ValidationError:
                continue  # the base dataset's problems are reported there
            base = raw["datasets"][model["dataset"]]
            # the classes whose images draw the parameter (all the model's, for a lens or source setting)
            drawn = [path.split(".")[1] for path in paths if path.startswith("classes.")] or chosen
            for k, value in enumerate(population_values(prior, pop.populations)):
                dataset = copy.deepcopy(base)
                dataset["classes"] = [{**c, "n_images": pop.lenses[-1]} for c in dataset["classes"] if c.get("name") in drawn]
                for path in paths:
                    _set(dataset, path.split("."), value)
                datasets[population_dataset(model["dataset"], name, k)] = dataset
    return out


def population_datasets(cfg: Any, name: str) -> list[str]:
    """The datasets of population entry ``name`` of a validated config, in population order."""
    pop = PopulationConfig.model_validate(cfg.populations[name])
    dataset = cfg.models[pop.model].dataset
    return [population_dataset(dataset, name, k) for k in range(pop.populations)]
