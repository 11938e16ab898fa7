"""Checking the experiment's ``searches:`` against its models before any job runs: the base model
exists, the objective is a validation metric of its task, every sampled field is a model setting
a search may change, and every bound and choice gives a valid model (``lr: {low: -1}`` fails as
``models.<base>.lr`` would), so a search never fails in its workers for a value of its space."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from deeplense.config import ExperimentConfig, ModelConfig, written_names
from deeplense.experiment.architectures import build_problem
from deeplense.experiment.checks import MachineChecks
from deeplense.search.config import (
    ARCHITECTURE_ARGS,
    NOT_SEARCHABLE,
    CategoricalParam,
    ParamSpec,
    SearchConfig,
    apply,
    best_model_name,
    model_field,
    without_union_tags,
)
from deeplense.tasks import TASKS
from deeplense.validation import Problem, location, not_one_of, problems_of, unknown_field_message, validate_entries


def search_problems(cfg: ExperimentConfig, *, build_models: bool = True) -> list[Problem]:
    """Every problem of the config's searches, at paths from the top level (``searches.<name>...``);
    ``build_models``: also build every architecture a search may choose (as models are built)."""
    valid, invalid = validate_entries(SearchConfig, cfg.searches, "searches")
    out = [Problem(without_union_tags(p.loc), p.message, p.value, p.kind) for p in invalid]
    for name, search in valid.items():
        found = _search_model_problems(cfg, name, search)
        if not found and build_models:
            found = _build_problems(cfg, name, search)
        out += found
    return out


def _search_model_problems(cfg: ExperimentConfig, name: str, search: SearchConfig) -> list[Problem]:
    at = ("searches", name)
    if search.model not in cfg.models:
        return [Problem((*at, "model"), not_one_of("not a model", search.model, written_names(cfg.models)), search.model)]
    best = best_model_name(name)
    if best in cfg.models:
        return [Problem(("models", best), f"search {name} trains its best config as model {best}; rename one of them", best)]
    base = cfg.models[search.model]
    task = TASKS.get(base.task)
    objective = search.objective or base.monitor
    out = []
    if objective not in task.monitors:
        out.append(Problem((*at, "objective"), not_one_of(f"not a validation metric of task {base.task}", objective, list(task.monitors)), objective))
    if cfg.datasets[base.dataset].split.val == 0:
        out.append(Problem((*at, "model"), f"trials are scored on the validation split, and dataset {base.dataset} has none "
                           "(split.val: 0); give it one (e.g. val: 0.15)", search.model))
    out += _space_problems(base.model_dump(mode="json"), search.space, (*at, "space"), search.model)
    return out


def _space_problems(base: dict[str, Any], space: dict[str, ParamSpec], at: tuple[str | int, ...], model: str) -> list[Problem]:
    """The fields of ``space`` a search cannot set, and the bounds or choices that give an invalid model."""
    out = []
    allowed = sorted(set(ModelConfig.model_fields) - NOT_SEARCHABLE - {"architecture_args"}) + [ARCHITECTURE_ARGS + "KEY"]
    for field, spec in space.items():
        if model_field(field) not in ModelConfig.model_fields or field == "architecture_args":
            out.append(Problem((*at, field), unknown_field_message(field, allowed), spec.model_dump(mode="json", exclude_unset=True)))
            continue
        if field in NOT_SEARCHABLE:
            out.append(Problem((*at, field), f"a search keeps what a model learns from and how it runs; allowed: {', '.join(allowed)}",
                               spec.model_dump(mode="json", exclude_unset=True)))
            continue
        if isinstance(spec, CategoricalParam):
            tries = [(("choices", i), value) for i, value in enumerate(spec.values())]
        else:
            tries = [(("low",), spec.low), (("high",), spec.high)]
        for where, value in tries:
            why = _model_problem(apply(base, {field: value}))
            if why:
                out.append(Problem((*at, field, *where), f"gives models.{model}.{why}", value))
                break
            if isinstance(spec, CategoricalParam) and spec.subspace(value):
                chosen = apply(base, {field: value})
                out += _space_problems(chosen, spec.subspace(value), (*at, field, "choices", value), model)
    return out


def _model_problem(model: dict[str, Any]) -> str | None:
    """Why ``model`` is no valid model config (its first problem, as a field path), or None."""
    try:
        ModelConfig.model_validate(model, context={"checks": MachineChecks(build_models=False)})
    except ValidationError as e:
        first = problems_of(e)[0]
        return f"{location(first.loc)}: {first.message}"
    return None


def _build_problems(cfg: ExperimentConfig, name: str, search: SearchConfig) -> list[Problem]:
    """Whether each architecture the search may choose builds for the dataset's images, with its
    sampled arguments at their first value (lows and first choices): a choice that cannot build
    at all fails here rather than in every trial that draws it."""
    base = cfg.models[search.model]
    dataset = cfg.datasets[base.dataset]
    inst = dataset.instrument
    first = {f: _first(spec) for f, spec in search.space.items() if f.startswith(ARCHITECTURE_ARGS)}
    architecture = search.space.get("architecture")
    choices = architecture.values() if isinstance(architecture, CategoricalParam) else [base.architecture]
    out = []
    for choice in choices:
        sub = architecture.subspace(choice) if isinstance(architecture, CategoricalParam) else {}
        settings = {"architecture": choice, **first, **{f: _first(spec) for f, spec in sub.items() if f.startswith(ARCHITECTURE_ARGS)}}
        model = ModelConfig.model_validate(apply(base.model_dump(mode="json"), settings))
        why = build_problem(model, dataset.class_names, inst.num_bands, inst.num_pix)
        if why:
            at = ("searches", name, "space")
            if isinstance(architecture, CategoricalParam):
                out.append(Problem((*at, "architecture", "choices", choice), f"{why[1]} (with {_show(settings)})", choice))
            else:  # the base architecture with the arguments' first values
                field = next(iter(first), None)
                where = (*at, field) if field else ("searches", name, "model")
                out.append(Problem(where, f"{why[1]} (with {_show(settings)})", first[field] if field else search.model))
    return out


def _first(spec: ParamSpec) -> Any:
    """A parameter's first value: its low bound, or its first choice."""
    return spec.values()[0] if isinstance(spec, CategoricalParam) else spec.low


def _show(settings: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in settings.items())
