"""Parameter sweeps: a grid over one physics parameter of a dataset, expanded into ordinary
datasets and models before validation, so every point is simulated, trained, evaluated and
rerun like any other dataset; the report plots a metric against the parameter.

    sweeps:
      vortex_mass:
        dataset: demo                       # the dataset to vary
        parameter: classes.vortex.params.mass   # a path in that dataset's config; classes by name
        values: [1.0e+10, 3.0e+10, 1.0e+11]
        models: [anomaly_vae]               # trained at every point (default: all on `dataset` that read the class)
        metric: auc_per_class.vortex        # plotted (default: auc_macro)

A parameter of one class (``classes.<name>.…``) changes only that class's images: the other
classes are the same shards at every point (deeplense.simulation.seeds), and a model that does not
read the swept class would train on the same images at every point. Such a model is left out of
the default list and refused when named.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import Field

from deeplense.config import written_names
from deeplense.validation import UNKNOWN_FIELD, Problem, StrictModel, collected, not_one_of, problem, told_as_written, validate_at, validate_entries


class SweepConfig(StrictModel):
    dataset: str = Field(description="dataset whose parameter is varied")
    parameter: str = Field(description="dotted path in the dataset config; list items (classes) by name")
    values: list[Any] = Field(min_length=2, description="the grid: numbers or distributions")
    models: list[str] | None = Field(
        None, description="models trained at every point; default all models on `dataset` that read the swept class"
    )
    metric: str = Field("auc_macro", description="metric plotted against the parameter (dotted path in metrics.json)")


def point_name(base: str, sweep: str, index: int) -> str:
    return f"{base}__{sweep}_{index}"


def swept_class(sweep: SweepConfig) -> str | None:
    """The class whose parameter the sweep varies (``classes.<name>.…``), or None for a setting
    every class shares (the instrument, the lens, …)."""
    parts = sweep.parameter.split(".")
    return parts[1] if parts[0] == "classes" and len(parts) > 1 else None


def reads_class(model: Any, cls: str | None) -> bool:
    """Whether a model's raw config reads images of ``cls`` (any class when None): a model without
    ``classes`` reads them all."""
    classes = model.get("classes") if isinstance(model, dict) else None
    return cls is None or classes is None or cls in classes


def _chosen_models(models: dict[str, Any], sweep: SweepConfig) -> list[str]:
    """The models trained at every point: the sweep's list, or every model on its dataset that
    reads the swept class."""
    if sweep.models is not None:
        return sweep.models
    cls = swept_class(sweep)
    return [m for m, cfg in models.items() if isinstance(cfg, dict) and cfg.get("dataset") == sweep.dataset and reads_class(cfg, cls)]


def _set(node: Any, path: list[str], value: Any) -> None:
    """Set ``path`` in a nested dict/list config; list items are found by their ``name``."""
    key, rest = path[0], path[1:]
    if isinstance(node, list):
        matches = [item for item in node if isinstance(item, dict) and item.get("name") == key]
        if not matches:
            names = [item.get("name") for item in node if isinstance(item, dict)]
            raise ValueError(not_one_of(f"no item named {key!r}", key, [str(n) for n in names]))
        if not rest:
            raise ValueError(f"the path must end in a field, not the item {key!r}")
        _set(matches[0], rest, value)
        return
    if not isinstance(node, dict):
        raise ValueError(f"cannot descend into {node!r} at {key!r}")
    if not rest:
        node[key] = value
        return
    node.setdefault(key, {})
    _set(node[key], rest, value)


def expand_sweeps(raw: dict[str, Any], problems: list[Problem] | None = None) -> dict[str, Any]:
    """The config with each sweep's points added as datasets and models (raw mapping in, out). ``problems``: where an
    entry's problems go (that entry is then left out); raised when None."""
    sweeps = raw.get("sweeps") or {}
    if not sweeps:
        return raw
    out = copy.deepcopy(raw)
    datasets = out.setdefault("datasets", {})
    models = out.setdefault("models", {}) or {}
    out["models"] = models
    for name, spec in sweeps.items():
        with collected(problems):
            at = ("sweeps", name)
            sweep = validate_at(SweepConfig, spec, *at)
            if sweep.dataset not in datasets:
                raise problem(not_one_of("not a dataset", sweep.dataset, written_names(datasets)), *at, "dataset", value=sweep.dataset)
            chosen = _chosen_models(models, sweep)
            cls = swept_class(sweep)
            for i, model in enumerate(chosen):
                if model not in models:
                    raise problem(not_one_of("not a model", model, written_names(models)), *at, "models", i, value=model)
                if not reads_class(models[model], cls):
                    raise problem(
                        f"model {model} reads classes {', '.join(models[model]['classes'])}, not {cls}: it would train on the "
                        f"same images at every point; name a model that reads {cls}", *at, "models", i, value=model,
                    )
            if not chosen:
                which = f" reads class {cls}" if cls else ""
                raise problem(f"no model on dataset {sweep.dataset}{which}: a sweep trains at least one; add one, or name it here", *at, "models")
            base = raw["datasets"][sweep.dataset]
            for i, value in enumerate(sweep.values):
                point = point_name(sweep.dataset, name, i)
                dataset = copy.deepcopy(base)
                try:
                    _set(dataset, sweep.parameter.split("."), value)
                except ValueError as e:
                    raise problem(f"in dataset {sweep.dataset}: {e}", *at, "parameter", value=sweep.parameter) from None
                datasets[point] = dataset
                for model in chosen:
                    models[point_name(model, name, i)] = {**raw["models"][model], "dataset": point}
    return out


def sweep_points(raw: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """(value, model, dataset) of every point of sweep ``name`` of a raw config."""
    sweep = SweepConfig.model_validate(raw["sweeps"][name])
    chosen = _chosen_models(raw.get("models") or {}, sweep)
    return [
        {"value": value, "model": point_name(model, name, i), "base_model": model, "dataset": point_name(sweep.dataset, name, i)}
        for i, value in enumerate(sweep.values)
        for model in chosen
    ]


def _origins(raw: dict[str, Any]) -> dict[tuple[str, str], tuple[str, tuple[str, int, SweepConfig]]]:
    """(section, generated name) → (base name, (sweep, index of its value, the sweep)) for every
    dataset and model the raw config's sweeps generate."""
    out: dict[tuple[str, str], tuple[str, tuple[str, int, SweepConfig]]] = {}
    sweeps = raw.get("sweeps")
    valid, _ = validate_entries(SweepConfig, sweeps if isinstance(sweeps, dict) else {}, "sweeps")
    models = raw.get("models") if isinstance(raw.get("models"), dict) else {}
    for name, sweep in valid.items():
        for i in range(len(sweep.values)):
            out["datasets", point_name(sweep.dataset, name, i)] = (sweep.dataset, (name, i, sweep))
            for model in _chosen_models(models, sweep):
                out["models", point_name(model, name, i)] = (model, (name, i, sweep))
    return out


def as_written(problems: list[Problem], raw: dict[str, Any]) -> list[Problem]:
    """Problems found in the datasets and models a sweep generated, told as the user wrote the
    sweep: one its base dataset or model has too is dropped (it is reported there); a field name
    the parameter path invents is blamed on ``sweeps.<name>.parameter``; any other on the value
    that caused it, ``sweeps.<name>.values[i]``."""

    def tell(p: Problem, in_base: Problem, origin: tuple[str, int, SweepConfig]) -> Problem:
        name, index, sweep = origin
        if p.kind == UNKNOWN_FIELD:
            return Problem(("sweeps", name, "parameter"), f"gives {in_base.where}: {p.message}", sweep.parameter, p.kind)
        return Problem(("sweeps", name, "values", index), f"gives {in_base.line()}", sweep.values[index], p.kind)

    return told_as_written(problems, _origins(raw), tell)
