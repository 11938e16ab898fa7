"""An experiment config as the workflow and the command line read it: a YAML file, its sweeps and
learning curves expanded, its presets filled, validated and checked against this machine (files,
architectures that must build), before any job runs."""

from deeplense.experiment.load import format_problems, load_config, read_yaml

__all__ = ["format_problems", "load_config", "read_yaml"]
