"""The checks a config's validation asks of this machine (deeplense.config.ConfigChecks): the
files it names exist and read, the renderer can draw the dataset, the architectures exist and
build. ``load_config`` hands them to the validation, so their problems are reported beside the
others, one line each; kept out of deeplense.config because they read files and import heavy
libraries (torch, timm, astropy's FITS reader)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from deeplense.experiment.architectures import architecture_problem, build_problem
from deeplense.validation import Problem

if TYPE_CHECKING:
    from deeplense.config import DatasetConfig, ExperimentConfig, ModelConfig


class MachineChecks:
    """``ConfigChecks`` against this machine's files and libraries. ``build_models`` False skips
    building each architecture (Snakemake's job processes: their main process did)."""

    def __init__(self, build_models: bool = True) -> None:
        self.build_models = build_models

    def source_images(self, path: str) -> str | None:
        from deeplense.physics.source_images import load_source_images

        try:
            load_source_images(path)
        except (OSError, ValueError) as e:
            return str(e)
        return None

    def backend(self, dataset: DatasetConfig) -> str | None:
        if dataset.backend != "autolens":
            return None
        from deeplense.simulation.autolens_mapping import autolens_config_problem

        return autolens_config_problem(dataset.source.profile, [(c.name, c.params) for c in dataset.classes])

    def architecture(self, name: str) -> str | None:
        return architecture_problem(name)

    def pretrained(self, path: str) -> str | None:
        if Path(path).is_file():
            return None
        return f"no such file (weights load from a local file; a relative path starts at {os.getcwd()})"

    def prediction_input(self, paths: list[str]) -> list[Problem]:
        """Whether a prediction's ``input`` names images ``deeplense predict`` reads, as far as the
        paths tell (each there, a glob matching, a folder of Zarr or FITS, one kind in all), at
        ``input[i]`` (or ``input``, for what the paths do together). Checked in every process, as
        ``pretrained`` is: a job runs where its input files are."""
        from deeplense.predict.inputs import InputError, MissingInput, input_paths

        out = []
        for i, path in enumerate(paths):
            try:
                input_paths([path])
            except MissingInput as e:
                named = e.argument in (path, str(Path(path)))  # the path itself, not a file a glob matched
                out.append(Problem(("input", i), e.why if named else f"{e.argument}: {e.why}", path))
            except InputError as e:
                out.append(Problem(("input", i), str(e), path))
        if not out:
            try:
                input_paths(paths)
            except InputError as e:
                out.append(Problem(("input",), str(e), paths))
        return out

    def build(self, cfg: ExperimentConfig, name: str, model: ModelConfig) -> list[Problem]:
        """Whether the architecture builds for the dataset's images and the task's outputs."""
        if not self.build_models:
            return []
        dataset = cfg.datasets[model.dataset]
        inst = dataset.instrument
        why = build_problem(model, dataset.class_names, inst.num_bands, inst.num_pix)
        if why is None:
            return []
        field, message = why
        return [Problem(("models", name, field), message, getattr(model, field))]
