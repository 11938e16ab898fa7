"""Drawing a trial's model settings from a search's space (conditional sub-spaces included) and
turning them into the trial's model config. No torch here: the summary job uses it too."""

from __future__ import annotations

from typing import Any

import optuna

from deeplense.config import ModelConfig
from deeplense.search.config import CategoricalParam, FloatParam, IntParam, ParamSpec, apply

SETTINGS_ATTR = "settings"  # the model settings a trial sampled (field or architecture_args.KEY → value)


def sample_settings(trial: optuna.Trial, space: dict[str, ParamSpec], prefix: str = "") -> dict[str, Any]:
    """The model settings of ``trial``, drawn from ``space``: a choice's sub-space is sampled
    only when that choice is, under the parameter name ``<field>=<choice>/<sub-field>``."""
    out: dict[str, Any] = {}
    for field, spec in space.items():
        name = prefix + field
        if isinstance(spec, FloatParam):
            out[field] = trial.suggest_float(name, spec.low, spec.high, log=spec.log, step=spec.step)
        elif isinstance(spec, IntParam):
            out[field] = trial.suggest_int(name, spec.low, spec.high, step=spec.step, log=spec.log)
        else:
            assert isinstance(spec, CategoricalParam)
            choice = trial.suggest_categorical(name, spec.values())
            out[field] = choice
            out.update(sample_settings(trial, spec.subspace(choice), f"{name}={choice}/"))
    return out


def trial_model(base: dict[str, Any], settings: dict[str, Any], objective: str, epochs: int | None = None) -> ModelConfig:
    """The model config of a trial (``epochs``: the trial's) or of the best trial's final model:
    the base with the sampled settings, its checkpoint selected on the search's objective."""
    config = {**apply(base, settings), "monitor": objective}
    if epochs is not None:
        config["epochs"] = epochs
    return ModelConfig.model_validate(config)
