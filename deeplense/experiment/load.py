"""Reading an experiment config: the YAML file (repeated keys refused), sweeps and learning curves
expanded into ordinary datasets and models, instrument presets filled, then validated with the
machine's checks (files, architectures) and searches checked against their base models into an ``ExperimentConfig``, or a ``ConfigError`` with
one line per problem: the file, the field path as the user wrote it (a sweep's generated datasets
and models told as the sweep), the bad value and what is allowed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from deeplense.config import ConfigError, CrossProblems, ExperimentConfig, cross_problems
from deeplense.experiment import learning_curves, sweeps
from deeplense.experiment.checks import MachineChecks
from deeplense.experiment.learning_curves import expand_learning_curves
from deeplense.experiment.plotted_metrics import plotted_metric_problems
from deeplense.experiment.searches import search_problems
from deeplense.predict.config import prediction_problems
from deeplense.experiment.populations import expand_populations
from deeplense.experiment.sweeps import expand_sweeps
from deeplense.physics.instruments import with_preset
from deeplense.validation import Problem, problems_of


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML whose mappings refuse a repeated key (PyYAML keeps the last one silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            if not isinstance(key, (str, int, float, bool)):
                continue  # PyYAML itself refuses unhashable keys
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} appears twice in one mapping (first on line {seen[key] + 1}); "
                    "the first would be ignored", key_node.start_mark,
                )
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: str | Path) -> Any:
    """The content of a YAML config file, or a ``ConfigError`` naming the file, line and column."""
    try:
        return yaml.load(Path(path).read_text(), Loader=_UniqueKeyLoader)  # noqa: S506 (a SafeLoader)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except OSError as e:
        raise ConfigError(f"config file {path} cannot be read: {e.strerror or e}") from None
    except yaml.YAMLError as e:
        mark, context = getattr(e, "problem_mark", None), getattr(e, "context", None)
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        what = getattr(e, "problem", None) or str(e)
        if context:
            start = getattr(e, "context_mark", None)
            what += f" ({context}{f' from line {start.line + 1}' if start is not None else ''})"
        raise ConfigError(f"invalid config {path}{where}: not valid YAML: {what}") from None


def format_problems(problems: list[Problem], source: str, raw: dict[str, Any] | None = None) -> str:
    """One line per problem: ``field.path = value: what is wrong / allowed``; problems inside the
    datasets and models a sweep or learning curve generated are told as the sweep or curve the
    user wrote."""
    lines, seen = [f"invalid config {source}:"], set()
    for p in sweeps.as_written(learning_curves.as_written(problems, raw or {}), raw or {}):
        line = "  " + p.line()
        if line not in seen:
            seen.add(line)
            lines.append(line)
    return "\n".join(lines)


def _with_presets(raw: dict[str, Any]) -> dict[str, Any]:
    """The config with every dataset's instrument preset filled in (what the config leaves out)."""
    datasets = raw.get("datasets")
    if not isinstance(datasets, dict):
        return raw
    filled = {
        name: {**ds, "instrument": with_preset(ds["instrument"])} if isinstance(ds, dict) and isinstance(ds.get("instrument"), dict) else ds
        for name, ds in datasets.items()
    }
    return {**raw, "datasets": filled}


def resolve(raw: dict[str, Any], problems: list[Problem] | None = None) -> dict[str, Any]:
    """The raw config as it is validated: populations, sweeps and learning curves expanded, presets
    filled. ``problems``: where the problems of an entry that cannot be expanded go (it is left
    out); raised when None."""
    expanded = expand_learning_curves(expand_sweeps(expand_populations(raw, problems), problems), problems)
    return _with_presets(expanded)


def load_config(raw: dict[str, Any] | str | Path, source: str | None = None, *, build_models: bool = True) -> ExperimentConfig:
    """Validate a config mapping (or a YAML file) into an ``ExperimentConfig``. ``build_models``
    False skips building each architecture (Snakemake's job processes: their main process did)."""
    if isinstance(raw, (str, Path)):
        source = source or str(raw)
        raw = read_yaml(raw)
    source = source or "config"
    if not isinstance(raw, dict):
        got = "an empty file" if raw is None else type(raw).__name__
        raise ConfigError(f"invalid config {source}: expected a mapping (datasets:, models:, ...) at the top level, got {got}")
    problems: list[Problem] = []  # every mistake that does not follow from another, reported at once
    resolved = resolve(raw, problems)  # a sweep, learning curve or population that cannot be expanded is left out
    context = {"checks": MachineChecks(build_models)}
    try:
        cfg = ExperimentConfig.model_validate(resolved, context=context)
    except ValidationError as e:
        problems += problems_of(e)
        cfg = ExperimentConfig.sound_part(resolved, context)  # the entries valid on their own, checked across below
        if not all(isinstance((err.get("ctx") or {}).get("error"), CrossProblems) for err in e.errors()):
            problems += cross_problems(cfg, context["checks"])  # not checked yet: an entry failed on its own
    problems += search_problems(cfg, build_models=build_models)  # a search's space checked against its base model
    problems += prediction_problems(cfg, MachineChecks(build_models))  # a prediction's model, input, dataset and ranking
    problems += plotted_metric_problems(cfg)  # what a sweep or learning curve plots, of what evaluation writes
    if problems:
        raise ConfigError(format_problems(problems, source, raw))
    return cfg
