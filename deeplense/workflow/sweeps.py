"""Parameter sweeps: a grid over one physics parameter of a dataset, expanded into ordinary
datasets and models before validation, so every point is simulated, trained, evaluated and
rerun like any other dataset; the report plots a metric against the parameter.

    sweeps:
      vortex_mass:
        dataset: demo                       # the dataset to vary
        parameter: classes.vortex.params.mass   # a path in that dataset's config; classes by name
        values: [1.0e+10, 3.0e+10, 1.0e+11]
        models: [resnet18]                  # trained at every point (default: all on `dataset`)
        metric: auc_per_class.vortex        # plotted (default: auc_macro)
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class SweepConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dataset: str = Field(description="dataset whose parameter is varied")
    parameter: str = Field(description="dotted path in the dataset config; list items (classes) by name")
    values: list[Any] = Field(min_length=2, description="the grid: numbers or distributions")
    models: list[str] | None = Field(None, description="models trained at every point; default all models on `dataset`")
    metric: str = Field("auc_macro", description="metric plotted against the parameter (dotted path in metrics.json)")


def point_name(base: str, sweep: str, index: int) -> str:
    return f"{base}__{sweep}_{index}"


def _set(node: Any, path: list[str], value: Any, where: str) -> None:
    """Set ``path`` in a nested dict/list config; list items are found by their ``name``."""
    key, rest = path[0], path[1:]
    if isinstance(node, list):
        matches = [item for item in node if isinstance(item, dict) and item.get("name") == key]
        if not matches:
            names = [item.get("name") for item in node if isinstance(item, dict)]
            raise ValueError(f"{where}: no item named {key!r}; available: {names}")
        child_holder, child_key = matches[0], None
        if not rest:
            raise ValueError(f"{where}: the path must end in a field, not the item {key!r}")
        _set(child_holder, rest, value, where)
        return
    if not isinstance(node, dict):
        raise ValueError(f"{where}: cannot descend into {node!r} at {key!r}")
    if not rest:
        node[key] = value
        return
    node.setdefault(key, {})
    _set(node[key], rest, value, where)


def expand_sweeps(raw: dict[str, Any]) -> dict[str, Any]:
    """The config with each sweep's points added as datasets and models (raw mapping in, out)."""
    sweeps = raw.get("sweeps") or {}
    if not sweeps:
        return raw
    out = copy.deepcopy(raw)
    datasets = out.setdefault("datasets", {})
    models = out.setdefault("models", {}) or {}
    out["models"] = models
    for name, spec in sweeps.items():
        sweep = SweepConfig.model_validate(spec)
        where = f"sweeps.{name}"
        if sweep.dataset not in datasets:
            raise ValueError(f"{where}.dataset = {sweep.dataset!r} is not a dataset; allowed: {', '.join(datasets)}")
        chosen = sweep.models if sweep.models is not None else [m for m, cfg in models.items() if cfg.get("dataset") == sweep.dataset]
        for model in chosen:
            if model not in models:
                raise ValueError(f"{where}.models: {model!r} is not a model; allowed: {', '.join(models)}")
        base = raw["datasets"][sweep.dataset]
        for i, value in enumerate(sweep.values):
            point = point_name(sweep.dataset, name, i)
            dataset = copy.deepcopy(base)
            _set(dataset, sweep.parameter.split("."), value, f"{where}.parameter = {sweep.parameter!r}")
            datasets[point] = dataset
            for model in chosen:
                models[point_name(model, name, i)] = {**raw["models"][model], "dataset": point}
    return out


def sweep_points(raw: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """(value, model, dataset) of every point of sweep ``name`` of a raw config."""
    sweep = SweepConfig.model_validate(raw["sweeps"][name])
    models = raw.get("models") or {}
    chosen = sweep.models if sweep.models is not None else [m for m, cfg in models.items() if cfg.get("dataset") == sweep.dataset]
    return [
        {"value": value, "model": point_name(model, name, i), "base_model": model, "dataset": point_name(sweep.dataset, name, i)}
        for i, value in enumerate(sweep.values)
        for model in chosen
    ]
