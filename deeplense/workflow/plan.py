"""What the workflow must build, derived from the validated config.

Each rule gets a *spec*: canonical JSON of exactly the settings its output depends on (plus the
deeplense version). Snakemake's params trigger compares specs, so changing one class's physics
reruns that class's shards and what depends on them, and nothing else.

A spec is a pydantic model of deeplense.workflow.specs, the contract the ``deeplense`` command reads
back; a rule gets it as a :class:`Spec`: a ``str`` holding the whole JSON, which is what the job's command line
gets (``{params.spec:q}``), whose ``repr`` is its digest, ``spec sha256:<16 hex>``. Snakemake records
and compares a param by its ``repr`` (and prints it in a job's ``reason:``), so the trigger
compares digests of the full spec: exact (a 64-bit digest of the canonical JSON), and a dry run
prints a line instead of kilobytes of JSON per job. The alternatives were weighed: a separate
digest param beside an output-derived spec param (Snakemake leaves derived params out of the
trigger) needs every rule edited; the spec in a file written by an input function writes files
during dry runs and needs the file to reach cluster jobs. Should Snakemake ever compare params by
their full text instead of ``repr``, the trigger stays exact and only the printing grows back.
Outputs recorded by a version that compared the JSON itself are rerun once.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import deeplense
from deeplense.config import ConfigError, ExperimentConfig
from deeplense.experiment import load_config, read_yaml
from deeplense.predict.config import prediction_config
from deeplense.search.config import SearchConfig, best_model_name
from deeplense.seeds import training_seed
from deeplense.simulation.shards import shard_count, shard_range
from deeplense.workflow.specs import (
    LearningCurveSpec,
    ModelSpec,
    PredictionSpec,
    ReproductionEntry,
    ReproductionSpec,
    SearchSpec,
    SimulateSpec,
    Spec,
    StoreSpec,
    SweepSpec,
)

RESULTS = "results"  # every output lives under this folder of the working directory


def _exit(error: ConfigError) -> None:
    print(f"deeplense: {error}", file=sys.stderr)
    raise SystemExit(1)


def read_yaml_or_exit(path: str | Path) -> None:
    """Stop, naming the file, line and column, if ``path`` is not valid YAML (or repeats a key):
    Snakemake's own message for a config file does not name it."""
    try:
        read_yaml(path)
    except ConfigError as e:
        _exit(e)


def load_or_exit(
    raw: dict[str, Any],
    files: Sequence[str | Path] = (),
    overrides: Mapping[str, Any] | None = None,
    *,
    build_models: bool = True,
) -> ExperimentConfig:
    """Validate the Snakemake config (read from ``files``, with ``--config`` ``overrides``); on
    error print the problems, naming the files, and stop before any job runs."""
    source = ", ".join(str(f) for f in files) or "config"
    if overrides:
        source += " with --config " + " ".join(f"{k}={v}" for k, v in overrides.items())
    for path in files:
        read_yaml_or_exit(path)  # a repeated key: Snakemake keeps the last one silently
    try:
        return load_config(raw, source, build_models=build_models)
    except ConfigError as e:
        _exit(e)
        raise


# ---- paths -------------------------------------------------------------------------------------
# Every output's path pattern, written once: the rules, the input functions below and the CLI's
# defaults all use these (wildcards in braces, filled by Snakemake or by ``.format``).
DATASET_DIR = RESULTS + "/datasets/{dataset}"
STORE = DATASET_DIR + "/dataset.zarr"
# The store of some of a dataset's classes (``{subset}``: their names, sorted, joined by "+"): what a
# model that selects classes reads, so that the dataset's other classes never enter its inputs.
SUBSET_STORE = DATASET_DIR + "/classes/{subset}.zarr"
# Shards belong to a class recipe, not to a dataset: ``{key}`` is the digest of the shard's spec less
# the version (deeplense.workflow.specs.SimulateSpec.key), so every dataset and sweep point whose
# class has the same recipe, seed and shard layout reads the same shards.
SHARD = RESULTS + "/shards/{cls}/{key}/{shard}.zarr"
GALLERY = DATASET_DIR + "/gallery.png"
PARAMETERS = DATASET_DIR + "/parameters.png"
MODEL_DIR = RESULTS + "/models/{model}"
CHECKPOINT = MODEL_DIR + "/checkpoint.pt"
HISTORY = MODEL_DIR + "/history.csv"
TRAIN_INFO = MODEL_DIR + "/train_info.json"
TENSORBOARD = MODEL_DIR + "/tensorboard"
TRAINING_CURVES = MODEL_DIR + "/training_curves.png"
LR_RANGE = MODEL_DIR + "/lr_range.png"
LR_RANGE_TABLE = MODEL_DIR + "/lr_range.csv"
METRICS = MODEL_DIR + "/metrics.json"
PREDICTIONS = MODEL_DIR + "/predictions.csv"
FIGURES = MODEL_DIR + "/figures"
# A training repeat k = 1 .. seeds-1 of a model (``seeds:``): the same config and split, its own training seed.
REPEAT_DIR = MODEL_DIR + "/seeds/{repeat}"
REPEAT_CHECKPOINT = REPEAT_DIR + "/checkpoint.pt"
REPEAT_HISTORY = REPEAT_DIR + "/history.csv"
REPEAT_TRAIN_INFO = REPEAT_DIR + "/train_info.json"
REPEAT_TRAINING_CURVES = REPEAT_DIR + "/training_curves.png"
REPEAT_METRICS = REPEAT_DIR + "/metrics.json"
REPEAT_PREDICTIONS = REPEAT_DIR + "/predictions.csv"
REPEAT_FIGURES = REPEAT_DIR + "/figures"
# A model evaluated on the test split of another dataset (domain shift, `evaluate_on`).
CROSS_DIR = MODEL_DIR + "/on/{dataset}"
CROSS_METRICS = CROSS_DIR + "/metrics.json"
CROSS_PREDICTIONS = CROSS_DIR + "/predictions.csv"
CROSS_FIGURES = CROSS_DIR + "/figures"
SWEEP_PLOT = RESULTS + "/sweeps/{sweep}.png"
POPULATION_METRICS = RESULTS + "/populations/{population}/metrics.json"
POPULATION_FIGURES = RESULTS + "/populations/{population}/figures"
LEARNING_CURVE_PLOT = RESULTS + "/learning_curves/{curve}.png"
# A search: its study's marker, one marker per worker slot, the trials and the best config.
SEARCH_DIR = RESULTS + "/searches/{search}"
SEARCH_STUDY = SEARCH_DIR + "/study.json"
SEARCH_JOURNAL = SEARCH_DIR + "/journal.log"  # Optuna's journal (not an output: the workers share it)
SEARCH_SCRATCH = SEARCH_DIR + "/scratch"  # trials train in temporary folders here
SEARCH_WORKER = SEARCH_DIR + "/workers/{worker}.done"
SEARCH_TRIALS = SEARCH_DIR + "/trials.csv"
SEARCH_TRIALS_HTML = SEARCH_DIR + "/trials.html"
SEARCH_BEST = SEARCH_DIR + "/best_model.json"
SEARCH_FIGURES = SEARCH_DIR + "/figures"
PREDICTION_DIR = RESULTS + "/predictions/{prediction}"
PREDICTION_STORE = PREDICTION_DIR + "/predictions.zarr"
PREDICTION_FIGURES = PREDICTION_DIR + "/figures"
LEADERBOARD = RESULTS + "/leaderboard.html"
REPRODUCTION = RESULTS + "/reproduction.html"
# the report's landing page embeds these (workflow/report/workflow.rst names them beside the two above)
LEADERBOARD_SUMMARY = RESULTS + "/leaderboard_summary.html"
REPRODUCTION_SUMMARY = RESULTS + "/reproduction_summary.html"


def store_path(dataset: str, classes: Sequence[str] | None = None) -> str:
    """The combined Zarr store of ``dataset``, or of only its ``classes``."""
    if classes is None:
        return STORE.format(dataset=dataset)
    return SUBSET_STORE.format(dataset=dataset, subset=subset_name(classes))


def subset_name(classes: Sequence[str]) -> str:
    """The file name of a store of ``classes``: sorted, so the order a model lists them in does not
    make another copy (the store keeps the dataset's order)."""
    return "+".join(sorted(set(classes)))


def subset_classes(cfg: ExperimentConfig, dataset: str, subset: str | None) -> list[str]:
    """The classes of ``dataset`` a store holds (``subset`` as in :func:`subset_name`, or None for
    all of them), in the dataset's order."""
    names = cfg.datasets[dataset].class_names
    if subset is None:
        return names
    wanted = subset.split("+")
    unknown = [c for c in wanted if c not in names]
    if unknown:
        raise ValueError(f"dataset {dataset} has no class {', '.join(unknown)}; it has {', '.join(names)}")
    return [c for c in names if c in wanted]


def model_store(cfg: ExperimentConfig, model: str, dataset: str | None = None) -> str:
    """The store ``model`` reads: its dataset's (or, evaluated elsewhere, ``dataset``'s) store of
    the classes it selects, or the whole store when it selects none (it reads them all)."""
    m = cfg.models[model]
    return store_path(dataset or m.dataset, m.classes)


def shard_job(cfg: ExperimentConfig, dataset: str, cls: str) -> SimulateSpec:
    """The spec of the shards of class ``cls`` of ``dataset``: shared physics, this class, seed,
    shard size (the dataset's name and other classes do not enter)."""
    ds = cfg.datasets[dataset]
    (class_cfg,) = [c for c in ds.classes if c.name == cls]
    return SimulateSpec(
        version=deeplense.__version__,
        seed=cfg.seed,
        dataset=_dataset_physics(cfg, dataset),
        class_=class_cfg.model_dump(mode="json"),
        shard_size=cfg.simulation.shard_size,
    )


def class_shard_specs(cfg: ExperimentConfig) -> dict[tuple[str, str], SimulateSpec]:
    """(class name, shard key) → its spec, for every class of every dataset; classes of the same
    recipe in several datasets (or sweep points) appear once."""
    specs: dict[tuple[str, str], SimulateSpec] = {}
    for name, ds in cfg.datasets.items():
        for c in ds.classes:
            spec = shard_job(cfg, name, c.name)
            specs.setdefault((c.name, spec.key), spec)
    return specs


def shard_paths(cfg: ExperimentConfig, dataset: str, classes: Sequence[str] | None = None) -> list[str]:
    """Every shard store of every class of ``dataset`` (or of its ``classes``)."""
    ds = cfg.datasets[dataset]
    out = []
    for cls in ds.classes:
        if classes is not None and cls.name not in classes:
            continue
        key = shard_job(cfg, dataset, cls.name).key
        n_shards = shard_count(cls.n_images, cfg.simulation.shard_size)
        out += [SHARD.format(cls=cls.name, key=key, shard=f"{shard:04d}") for shard in range(n_shards)]
    return out


def metrics_path(model: str, dataset: str | None = None) -> str:
    """``model``'s metrics on its own test split, or on the test split of another ``dataset``."""
    return METRICS.format(model=model) if dataset is None else CROSS_METRICS.format(model=model, dataset=dataset)


# ---- renderer backends ------------------------------------------------------------------------
def dataset_backends(cfg: ExperimentConfig) -> list[str]:
    """The renderer backends the config's datasets use (sorted, each once)."""
    return sorted({ds.backend for ds in cfg.datasets.values()})


def backend_pattern(cfg: ExperimentConfig, backend: str) -> str:
    """A wildcard regex matching exactly the shard keys of classes rendered by ``backend`` (and
    nothing when none is): the simulation rule of each backend claims only its own shards."""
    keys = sorted({key for (_, key), spec in class_shard_specs(cfg).items() if spec.dataset["backend"] == backend})
    return names_pattern(keys)


# ---- specs -------------------------------------------------------------------------------------
def _dataset_physics(cfg: ExperimentConfig, dataset: str) -> dict[str, Any]:
    """The dataset's settings shared by all its classes (everything but classes and split)."""
    return cfg.datasets[dataset].model_dump(mode="json", exclude={"classes", "split"})


def shard_source(cfg: ExperimentConfig, cls: str, key: str) -> SimulateSpec:
    """The spec of the shards of class ``cls`` with shard key ``key`` (from the first dataset that
    has that class and recipe: every one gives the same spec)."""
    for name, ds in cfg.datasets.items():
        if cls in ds.class_names:
            spec = shard_job(cfg, name, cls)
            if spec.key == key:
                return spec
    raise ValueError(f"no class {cls!r} of this config has shard key {key}")


def simulate_spec(cfg: ExperimentConfig, cls: str, key: str) -> Spec:
    """What a shard of class ``cls`` with shard key ``key`` depends on (see :func:`shard_job`)."""
    return shard_source(cfg, cls, key).to_spec()


# Jobs start longest first (Snakemake's `priority`, among the jobs ready to run), so that on a few
# cores the short jobs fill in around the long ones instead of leaving one long job running alone at
# the end. A priority is the job's expected work in rough units: images simulated (a pyHalo image
# counts ten: thousands of halos each) or image passes of training (epochs × training images).
PYHALO_IMAGE_WEIGHT = 10


def shard_priority(cfg: ExperimentConfig, cls: str, key: str, shard: int) -> int:
    """Snakemake priority of a simulation shard: its images, ×10 for pyHalo populations."""
    klass = shard_source(cfg, cls, key).class_config()
    images = len(shard_range(klass.n_images, cfg.simulation.shard_size, shard))
    return images * (PYHALO_IMAGE_WEIGHT if klass.draws_pyhalo() else 1)


def train_priority(cfg: ExperimentConfig, model: str) -> int:
    """Snakemake priority of a model's training: epochs × training images; a search's best model
    (its settings known only once the search ran) is estimated by the search's base model."""
    if model not in cfg.models:
        model = search_config(cfg, search_models(cfg)[model]).model
    return cfg.models[model].epochs * cfg.training_images(model)


def store_spec(cfg: ExperimentConfig, dataset: str, subset: str | None = None) -> Spec:
    """What the combined store depends on: the dataset config (with only the classes of
    ``subset``, when given), seed and storage layout."""
    classes = subset_classes(cfg, dataset, subset)
    config = cfg.datasets[dataset].model_dump(mode="json")
    config["classes"] = [c for c in config["classes"] if c["name"] in classes]
    return StoreSpec(
        version=deeplense.__version__,
        seed=cfg.seed,
        dataset_name=dataset,
        dataset=config,
        storage=cfg.storage.model_dump(mode="json"),
    ).to_spec()


def store_shards(cfg: ExperimentConfig, dataset: str, subset: str | None = None) -> list[str]:
    """The shards a store of ``dataset`` (of the classes of ``subset``, when given) combines."""
    return shard_paths(cfg, dataset, subset_classes(cfg, dataset, subset))


def model_job(cfg: ExperimentConfig, model: str, eval_dataset: str | None = None) -> ModelSpec:
    """The typed spec of training or evaluating ``model`` (on ``eval_dataset``'s test split, when
    given: domain shift), as the CLI reads it back."""
    m = cfg.models[model]
    fields: dict[str, Any] = {"eval_dataset": eval_dataset} if eval_dataset else {}
    return ModelSpec(
        version=deeplense.__version__,
        seed=cfg.seed,
        model_name=model,
        model=m.training_dump(),  # adding a cross-dataset evaluation must not retrain
        split=cfg.datasets[eval_dataset or m.dataset].split.model_dump(mode="json"),
        **fields,
    )


def repeats(cfg: ExperimentConfig) -> list[tuple[str, int]]:
    """(model, k) for every training repeat k = 1 .. seeds-1 of every model (repeat 0 is the model itself)."""
    return [(name, k) for name, m in cfg.models.items() for k in range(1, m.seeds)]


def repeat_job(cfg: ExperimentConfig, model: str, repeat: int) -> ModelSpec:
    """The spec of training or evaluating repeat ``repeat`` of ``model``: the model's own spec (same
    config, same split) with the repeat's training seed (deeplense.seeds.training_seed)."""
    seeds = cfg.models[model].seeds
    if not 1 <= repeat < seeds:
        raise ValueError(f"model {model} has seeds: {seeds}, so repeats 1..{seeds - 1}; no repeat {repeat}")
    base = model_job(cfg, model)
    return base.model_copy(update={"seed": training_seed(cfg.seed, repeat), "repeat": repeat})


def repeat_spec(cfg: ExperimentConfig, model: str, repeat: int) -> Spec:
    """What training and evaluation of repeat ``repeat`` of ``model`` depend on (see :func:`repeat_job`)."""
    return repeat_job(cfg, model, repeat).to_spec()


def repeat_metrics(cfg: ExperimentConfig, model: str | None = None) -> list[str]:
    """The metrics.json of every training repeat (of ``model``'s only, when given), on its model's own test split."""
    return [REPEAT_METRICS.format(model=m, repeat=k) for m, k in repeats(cfg) if model in (None, m)]


def model_spec(cfg: ExperimentConfig, model: str) -> Spec:
    """What training and evaluation of ``model`` depend on (the dataset enters as an input file:
    a rebuilt store retrains, even with the same bytes, as Snakemake reruns everything downstream
    of a job it reruns)."""
    return model_job(cfg, model).to_spec()


def sweep_spec(cfg: ExperimentConfig, sweep: str) -> Spec:
    """What a sweep's sensitivity plot depends on: its points, parameter and metric."""
    from deeplense.experiment.sweeps import SweepConfig, sweep_points

    spec = SweepConfig.model_validate(cfg.sweeps[sweep])
    points = sweep_points(cfg.model_dump(mode="json"), sweep)
    shared, resimulated = sweep_classes(cfg, [p["dataset"] for p in points])
    return SweepSpec(
        version=deeplense.__version__, sweep=sweep, parameter=spec.parameter, metric=spec.metric, points=points,
        shared_classes=shared, resimulated_classes=resimulated,
    ).to_spec()


def sweep_classes(cfg: ExperimentConfig, datasets: Sequence[str]) -> tuple[list[str], list[str]]:
    """The classes that are the same images in every one of ``datasets`` (one shard key), and those
    simulated anew in each: a sweep compares like with like only in the first."""
    names = cfg.datasets[datasets[0]].class_names
    keys = {c: {shard_job(cfg, d, c).key for d in datasets} for c in names}
    return [c for c in names if len(keys[c]) == 1], [c for c in names if len(keys[c]) > 1]


def sweep_metrics(cfg: ExperimentConfig, sweep: str) -> list[str]:
    from deeplense.experiment.sweeps import sweep_points

    return [metrics_path(p["model"]) for p in sweep_points(cfg.model_dump(mode="json"), sweep)]


def population_spec(cfg: ExperimentConfig, population: str) -> Spec:
    """What a population evaluation depends on: its parameter, lens counts and grid (its model
    and stores are inputs)."""
    from deeplense.experiment.populations import PopulationConfig
    from deeplense.workflow.specs import PopulationSpec

    pop = PopulationConfig.model_validate(cfg.populations[population])
    return PopulationSpec(version=deeplense.__version__, population=population, parameter=pop.parameter,
                          lenses=pop.lenses, grid=pop.grid).to_spec()


def population_inputs(cfg: ExperimentConfig, population: str) -> dict[str, Any]:
    """The posterior model's checkpoint and each population's store, in population order."""
    from deeplense.experiment.populations import PopulationConfig, population_datasets

    pop = PopulationConfig.model_validate(cfg.populations[population])
    return {"checkpoint": CHECKPOINT.format(model=pop.model), "stores": [store_path(d) for d in population_datasets(cfg, population)]}


def learning_curve_spec(cfg: ExperimentConfig, curve: str) -> Spec:
    """What a learning-curve plot depends on: its models and metric."""
    from deeplense.experiment.learning_curves import LearningCurveConfig, curve_points

    spec = LearningCurveConfig.model_validate(cfg.learning_curves[curve])
    models = curve_points(cfg.model_dump(mode="json"), curve)
    return LearningCurveSpec(version=deeplense.__version__, curve=curve, models=models, metric=spec.metric).to_spec()


def learning_curve_inputs(cfg: ExperimentConfig, curve: str) -> dict[str, list[str]]:
    """The metrics and training provenance of every point of learning curve ``curve``."""
    from deeplense.experiment.learning_curves import curve_points

    models = curve_points(cfg.model_dump(mode="json"), curve)
    return {
        "metrics": [metrics_path(m) for m in models],
        "infos": [TRAIN_INFO.format(model=m) for m in models],
    }


def reproduction_entries(cfg: ExperimentConfig) -> list[ReproductionEntry]:
    """Every (model, evaluation dataset, published value) the models' ``reproduces`` name."""
    return [
        ReproductionEntry(model=name, eval_dataset=where, published=key)
        for name, m in cfg.models.items()
        for where, key in m.reproductions()
    ]


def reproduction_spec(cfg: ExperimentConfig) -> Spec:
    """What the reproduction table depends on: its entries."""
    return ReproductionSpec(version=deeplense.__version__, entries=reproduction_entries(cfg)).to_spec()


def reproduction_inputs(cfg: ExperimentConfig) -> dict[str, list[str]]:
    """The metrics (own test split, or on another dataset) and training provenance of each entry."""
    entries = reproduction_entries(cfg)

    def metrics(e: ReproductionEntry) -> str:
        own = cfg.models[e.model].dataset == e.eval_dataset
        return metrics_path(e.model, None if own else e.eval_dataset)

    return {"metrics": [metrics(e) for e in entries], "infos": [TRAIN_INFO.format(model=e.model) for e in entries]}


# ---- searches ----------------------------------------------------------------------------------
def names_pattern(names: Sequence[str]) -> str:
    """A wildcard regex matching exactly ``names`` (nothing when empty)."""
    return "|".join(re.escape(n) for n in names) if names else "(?!)"


def search_config(cfg: ExperimentConfig, search: str) -> SearchConfig:
    return SearchConfig.model_validate(cfg.searches[search])


def search_models(cfg: ExperimentConfig) -> dict[str, str]:
    """The model each search trains its best config as (``<search>_best``) → the search."""
    return {best_model_name(name): name for name in cfg.searches}


def search_spec(cfg: ExperimentConfig, search: str) -> Spec:
    """What a search's study, workers and summary depend on: the search, its base model, seed, split."""
    s = search_config(cfg, search)
    base = cfg.models[s.model]
    return SearchSpec(
        version=deeplense.__version__,
        search_name=search,
        search=cfg.searches[search],
        model_name=s.model,
        model=base.training_dump(),
        seed=cfg.seed,
        split=cfg.datasets[base.dataset].split.model_dump(mode="json"),
    ).to_spec()


def search_store(cfg: ExperimentConfig, search: str) -> str:
    """The dataset store the search's base model trains on."""
    return model_store(cfg, search_config(cfg, search).model)


def search_workers(cfg: ExperimentConfig, search: str) -> list[str]:
    """The marker of every worker slot of ``search``."""
    return [SEARCH_WORKER.format(search=search, worker=i) for i in range(search_config(cfg, search).workers)]


def search_model_summary(cfg: ExperimentConfig, model: str) -> str:
    """Caption line of a search's best model (its settings are known only after the search)."""
    search = search_models(cfg)[model]
    s = search_config(cfg, search)
    return (
        f"{model}: the best trial of search {search} ({s.n_trials} trials, {s.sampler} sampler, seed {s.seed}) over model "
        f"{s.model}, trained for the model's full epochs; config in {SEARCH_BEST.format(search=search)}"
    )


# ---- evaluation on other datasets (domain shift) ---------------------------------------------
def cross_evaluations(cfg: ExperimentConfig) -> list[tuple[str, str]]:
    """(model, dataset) for every other dataset a model's config asks to be evaluated on."""
    return [(name, other) for name, m in cfg.models.items() for other in m.evaluate_on if other != m.dataset]


def cross_evaluation_spec(cfg: ExperimentConfig, model: str, dataset: str) -> Spec:
    """The model's spec, with the split fractions of ``dataset`` (whose test split is used)."""
    return model_job(cfg, model, dataset).to_spec()


# ---- trained models applied to datasets or new images (`predictions:`) ------------------------
def prediction_inputs(cfg: ExperimentConfig, prediction: str) -> dict[str, Any]:
    """The model's checkpoint (with its train_info.json: the split fractions) and the images:
    the dataset's store, or the input's paths (globs expanded; the config's check refuses one that
    matches nothing, which would otherwise reach Snakemake as missing)."""
    import glob

    p = prediction_config(cfg, prediction)
    if p.dataset is not None:
        images = [store_path(p.dataset)]
    else:
        images = [m for pattern in p.input for m in (sorted(glob.glob(pattern, recursive=True)) or [pattern])] \
            if any(c in "".join(p.input) for c in "*?[") else list(p.input)
    return {"checkpoint": CHECKPOINT.format(model=p.model), "train_info": TRAIN_INFO.format(model=p.model), "images": images}


def prediction_spec(cfg: ExperimentConfig, prediction: str) -> Spec:
    """What a prediction set depends on besides its input files: its entry (less what only its
    figures show) and the version."""
    entry = {k: v for k, v in cfg.predictions[prediction].items() if k not in FIGURE_ONLY}
    return PredictionSpec(version=deeplense.__version__, prediction=entry).to_spec()


FIGURE_ONLY = ("rank_by", "top")  # prediction settings that change the report's figures only


def prediction_options(cfg: ExperimentConfig, prediction: str) -> list[str]:
    return prediction_config(cfg, prediction).command_options()


def prediction_figure_options(cfg: ExperimentConfig, prediction: str) -> list[str]:
    p = prediction_config(cfg, prediction)
    return ["--top", str(p.top)] + (["--rank-by", p.rank_by] if p.rank_by else [])


def prediction_workers(cfg: ExperimentConfig, prediction: str) -> int:
    return prediction_config(cfg, prediction).workers


def prediction_summary(cfg: ExperimentConfig, prediction: str) -> str:
    """Caption line: the model and what it was applied to."""
    p = prediction_config(cfg, prediction)
    what = f"dataset {p.dataset}" + (f" ({p.split} split)" if p.split else "") if p.dataset else ", ".join(p.input)
    return f"model {p.model} ({cfg.models[p.model].architecture}, {cfg.models[p.model].task}) applied to {what}"
