"""The typed contract between the workflow and the steps its rules run: one pydantic model per
rule's spec. ``deeplense.workflow.plan`` builds them from the config and hands each rule its
canonical JSON (:class:`Spec`); the ``deeplense`` command reads that JSON back into the same model,
so a field renamed on one side fails on the other, naming the field, instead of a ``KeyError``."""

from __future__ import annotations

import hashlib
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from deeplense.config import ClassConfig, DatasetConfig, ModelConfig, StorageSettings, dump_json
from deeplense.errors import DeeplenseError


class Spec(str):
    """A rule's spec: the canonical JSON as text, its digest as ``repr`` (see deeplense.workflow.plan)."""

    @property
    def digest(self) -> str:
        return "sha256:" + hashlib.sha256(self.encode()).hexdigest()[:16]

    def __repr__(self) -> str:
        return f"spec {self.digest}"


class RuleSpec(BaseModel):
    """What every spec holds: the deeplense version that planned it (a new version reruns)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, protected_namespaces=())

    version: str

    def to_spec(self) -> Spec:
        """Canonical JSON of the fields set when planning (an unset optional field is left out)."""
        return Spec(dump_json(self.model_dump(mode="json", by_alias=True, exclude_unset=True)))

    @classmethod
    def parse(cls, text: str) -> "RuleSpec":
        """The spec a rule passed (``--spec``); a malformed one fails naming the field."""
        try:
            return cls.model_validate_json(text)
        except ValidationError as e:
            problems = "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors())
            raise DeeplenseError(f"--spec is not a {cls.__name__} ({problems}); allowed fields: {', '.join(cls.model_fields)}") from None


class SimulateSpec(RuleSpec):
    """A shard of one class: shared physics, this class, seed, shard size. No dataset name: the
    same class recipe in another dataset is the same shards."""

    seed: int
    dataset: dict[str, Any]  # the dataset's physics, less classes and split
    class_: dict[str, Any] = Field(alias="class")
    shard_size: int

    @property
    def key(self) -> str:
        """The shards' address: a digest of the spec less the version (a new version reruns the
        same paths, through the spec, instead of leaving the old ones behind)."""
        content = dump_json(self.model_dump(mode="json", by_alias=True, exclude={"version"}))
        return hashlib.sha256(content.encode()).hexdigest()[:16]

    def class_config(self) -> ClassConfig:
        return ClassConfig.model_validate(self.class_)

    def dataset_config(self) -> DatasetConfig:
        """The dataset with only this spec's class."""
        return DatasetConfig.model_validate({**self.dataset, "classes": [self.class_]})


class StoreSpec(RuleSpec):
    """The combined store: the whole dataset config, seed and storage layout."""

    seed: int
    dataset_name: str
    dataset: dict[str, Any]  # recorded in the store as given
    storage: dict[str, Any]

    def dataset_config(self) -> DatasetConfig:
        return DatasetConfig.model_validate(self.dataset)

    def storage_settings(self) -> StorageSettings:
        return StorageSettings.model_validate(self.storage)


class ModelSpec(RuleSpec):
    """Training and evaluation of a model; ``eval_dataset`` set when it is evaluated on the test
    split of another dataset (domain shift), whose split fractions ``split`` then holds."""

    seed: int
    model_name: str
    model: dict[str, Any]  # ModelConfig.training_dump()
    split: dict[str, float]
    eval_dataset: str | None = None
    repeat: int | None = None  # a training repeat k ≥ 1 (``seeds:``), whose training seed ``seed`` is; unset for the model itself

    def config(self) -> ModelConfig:
        return ModelConfig.model_validate(self.model)


class SweepSpec(RuleSpec):
    """A sweep's sensitivity plot: its points, parameter and metric."""

    sweep: str
    parameter: str
    metric: str
    points: list[dict[str, Any]]
    shared_classes: list[str] = []  # the same images (the same shards) at every point
    resimulated_classes: list[str] = []  # simulated anew at each point


class PopulationSpec(RuleSpec):
    """A population evaluation: the posterior model's parameter, the lens counts and the grid."""

    population: str
    parameter: str
    lenses: list[int]
    grid: int


class LearningCurveSpec(RuleSpec):
    """A learning curve's plot: its models and metric."""

    curve: str
    models: list[str]
    metric: str


STUDY_BUDGET = frozenset({"n_trials", "workers", "storage"})  # how much and where, not which trials


class PredictionSpec(RuleSpec):
    """A prediction set: its entry of ``predictions:`` (deeplense.predict.config), as written."""

    prediction: dict[str, Any]


class SearchSpec(RuleSpec):
    """A search: its config, its base model's training config, seed and split. The study's name
    carries a digest of what decides its trials, so a changed space, objective, sampler or base
    model starts a new study in the same storage, while more trials or workers continue it."""

    search_name: str
    search: dict[str, Any]  # deeplense.search.config.SearchConfig, as written
    model_name: str  # the base model
    model: dict[str, Any]  # its ModelConfig.training_dump()
    seed: int
    split: dict[str, float]

    @property
    def study_name(self) -> str:
        trials = {k: v for k, v in self.search.items() if k not in STUDY_BUDGET}
        content = dump_json({"search": trials, "model": self.model, "seed": self.seed, "split": self.split})
        return f"{self.search_name}-{hashlib.sha256(content.encode()).hexdigest()[:12]}"


class ReproductionEntry(BaseModel):
    """A model, the dataset it is evaluated on, and the published value it reproduces."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str
    eval_dataset: str
    published: str


class ReproductionSpec(RuleSpec):
    """The reproduction table: every entry the models' ``reproduces`` name."""

    entries: list[ReproductionEntry]
