"""The ``deeplense`` command line: the steps that the Snakemake rules call, usable by hand."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from deeplense import __version__

if TYPE_CHECKING:
    from deeplense.config import ModelConfig
    from deeplense.workflow.specs import ModelSpec


def limit_threads(threads: int) -> None:
    """Make BLAS and OpenMP (through threadpoolctl) and numba's parallel kernels use ``threads``
    threads (a rule's `threads`). torch runs on the model's own `threads` setting instead."""
    import os

    import numpy  # noqa: F401  (loads numpy's BLAS, so that threadpoolctl finds and limits it)
    import scipy.linalg  # noqa: F401  (scipy bundles a BLAS of its own)
    from threadpoolctl import threadpool_limits

    if "numba" in sys.modules:  # already running: limit its pool (loads its OpenMP layer)
        import numba

        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    else:  # read when numba is first imported; a job that never uses numba does not pay ≈ 0.8 s for it
        os.environ["NUMBA_NUM_THREADS"] = str(max(1, min(threads, os.cpu_count() or 1)))
    threadpool_limits(limits=threads)


def _cmd_check_config(args: argparse.Namespace) -> int:
    from deeplense.config import ConfigError
    from deeplense.experiment import load_config
    from deeplense.workflow.plan import shard_paths

    try:
        cfg = load_config(Path(args.config))
    except ConfigError as e:
        print(e, file=sys.stderr)
        return 1
    for name, ds in cfg.datasets.items():
        counts = ", ".join(f"{c.name}={c.n_images}" for c in ds.classes)
        print(f"dataset {name}: {ds.instrument.num_pix}×{ds.instrument.num_pix} px; {counts}; {len(shard_paths(cfg, name))} shards")
    for name, m in cfg.models.items():
        print(f"model {name}: {m.architecture} ({m.task}) on {m.dataset}, {m.epochs} epochs")
    from deeplense.workflow.plan import search_config

    for name in cfg.searches:
        s = search_config(cfg, name)
        print(f"search {name}: {s.n_trials} trials of model {s.model} over {', '.join(s.space)} ({s.sampler} sampler, "
              f"{s.pruner} pruner, {s.workers} worker(s)); the best trains as model {name}_best")
    return 0


def _cmd_schema(args: argparse.Namespace) -> int:
    from deeplense.config import json_schema

    print(json.dumps(json_schema(), indent=2, sort_keys=True))
    return 0


def _cmd_backends(args: argparse.Namespace) -> int:
    from deeplense.config import ConfigError
    from deeplense.experiment import load_config
    from deeplense.workflow.plan import dataset_backends

    try:
        cfg = load_config(args.config)
    except ConfigError as e:
        print(e, file=sys.stderr)
        return 1
    print("\n".join(dataset_backends(cfg)))
    return 0


def _cmd_simulate(args: argparse.Namespace) -> int:
    from deeplense.physics.records import record_attrs
    from deeplense.simulation.backends import backend_provenance
    from deeplense.simulation.shards import shard_range, simulate_shard
    from deeplense.storage.shard_store import write_shard
    from deeplense.workflow.specs import SimulateSpec

    spec = SimulateSpec.parse(args.spec)
    cls, dataset = spec.class_config(), spec.dataset_config()
    indices = shard_range(cls.n_images, spec.shard_size, args.shard)
    result = simulate_shard(spec.seed, dataset, cls, indices)
    write_shard(result, args.output, cls.name, record_attrs(dataset), renderer=backend_provenance(dataset.backend))
    print(f"wrote {len(indices)} images of class {cls.name} (shard key {spec.key}) to {args.output}")
    return 0


def _cmd_store(args: argparse.Namespace) -> int:
    from deeplense.storage.dataset_store import ClassShards, combine_shards
    from deeplense.storage.shard_store import open_shard
    from deeplense.workflow.specs import StoreSpec

    spec = StoreSpec.parse(args.spec)
    dataset = spec.dataset_config()
    by_class: dict[str, list[Path]] = {c.name: [] for c in dataset.classes}
    renderers = []
    for path in args.shards:
        attrs = open_shard(path).attrs
        name = attrs.get("class_name")
        renderers.append(attrs.get("renderer"))
        if name not in by_class:
            raise SystemExit(f"shard {path} belongs to class {name!r}, not one of {list(by_class)}")
        by_class[name].append(Path(path))
    if any(r != renderers[0] for r in renderers):
        raise SystemExit(f"shards of {spec.dataset_name} were rendered by different software: {renderers}")
    inst = dataset.instrument
    digest = combine_shards(
        [ClassShards(c.name, c.n_images, by_class[c.name]) for c in dataset.classes],
        args.output,
        dataset_name=spec.dataset_name,
        dataset_config=spec.dataset,
        seed=spec.seed,
        image_shape=inst.image_shape,
        storage=spec.storage_settings(),
        renderer=renderers[0],
    )
    print(f"wrote {args.output} ({digest})")
    return 0


def _cmd_regenerate(args: argparse.Namespace) -> int:
    import numpy as np

    from deeplense.simulation.regenerate import regenerate
    from deeplense.storage.dataset_store import StoreError

    from deeplense.simulation.backends import BackendUnavailable, run_in_backend_env

    try:
        result = regenerate(args.store, args.index)
    except StoreError as e:
        print(e, file=sys.stderr)
        return 2
    except BackendUnavailable as e:  # e.g. a PyAutoLens store: rebuild it in PyAutoLens's env
        argv = ["regenerate", str(args.store), str(args.index)] + ["--check"] * args.check
        return run_in_backend_env(e, argv + (["--output", args.output] if args.output else []))
    if args.output:
        np.save(args.output, result.rebuilt.image)
    status = "identical to" if result.identical else "DIFFERENT from"
    print(f"image {result.index} ({result.class_name}, seed {result.seed}): rebuilt image {status} the stored one")
    if args.check and not result.identical:
        diff = np.abs(result.stored.astype(np.float64) - result.rebuilt.image).max()
        print(f"max |difference| {diff:.3g}", file=sys.stderr)
        return 1
    return 0


def _cmd_signal(args: argparse.Namespace) -> int:
    import tempfile

    import pandas as pd

    from deeplense.config import ConfigError
    from deeplense.experiment import load_config
    from deeplense.simulation import signal
    from deeplense.simulation.backends import BackendUnavailable, run_in_backend_env

    try:
        cfg = load_config(args.config, build_models=False)
    except ConfigError as e:
        print(e, file=sys.stderr)
        return 1
    names = signal.check_datasets(cfg, args.dataset, args.config)
    n_images = signal.check_image_count(args.images)
    summaries = []
    for name in names:
        try:
            summaries.append(signal.summarize(signal.measure_dataset(cfg, name, n_images)))
        except BackendUnavailable as e:  # a PyAutoLens dataset: measured in PyAutoLens's environment,
            with tempfile.TemporaryDirectory() as tmp:  # from a config of that dataset alone (no models to check)
                alone, csv = Path(tmp) / f"{name}.yaml", str(Path(tmp) / f"{name}.csv")
                alone.write_text(json.dumps({"seed": cfg.seed, "datasets": {name: cfg.datasets[name].model_dump(mode="json")}}))
                argv = ["signal", str(alone), "--images", str(n_images), "--output", csv, "--quiet"]
                status = run_in_backend_env(e, argv)
                if status != 0:
                    return status
                summaries.append(pd.read_csv(csv))
    summary = pd.concat(summaries, ignore_index=True)
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        summary.to_csv(args.output, index=False)
    if not args.quiet:
        print(signal.markdown_table(summary))
        if args.output:
            print(f"wrote {args.output}")
    return 0


def _cmd_gallery(args: argparse.Namespace) -> int:
    from deeplense.report.gallery import plot_gallery

    plot_gallery(args.store, args.output, args.per_class)
    return 0


def _cmd_inspect(args: argparse.Namespace) -> int:
    from deeplense.storage.inspect import summarize

    print(summarize(args.store))
    if args.grid:
        from deeplense.report.gallery import plot_gallery

        plot_gallery(args.store, args.grid, args.per_class)
        print(f"example images: {args.grid}")
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from deeplense.storage.dataset_store import StoreError
    from deeplense.storage.inspect import validate_store

    try:
        digest = validate_store(args.store)
    except StoreError as e:
        print(f"invalid: {e}", file=sys.stderr)
        return 1
    print(f"valid: {args.store} ({digest})")
    return 0


def _cmd_sensitivity(args: argparse.Namespace) -> int:
    from deeplense.report.sensitivity import plot_sensitivity, sensitivity_table
    from deeplense.workflow.specs import SweepSpec

    spec = SweepSpec.parse(args.spec)
    table = sensitivity_table(spec.points, args.metrics, spec.metric)
    plot_sensitivity(
        table, spec.metric, spec.parameter, spec.sweep, args.output, args.csv,
        shared=spec.shared_classes, resimulated=spec.resimulated_classes,
    )
    print(table.to_string(index=False))
    return 0


def _cmd_population(args: argparse.Namespace) -> int:
    from deeplense.evaluation.populations import evaluate_populations
    from deeplense.workflow.specs import PopulationSpec

    spec = PopulationSpec.parse(args.spec)
    metrics = evaluate_populations(args.checkpoint, args.stores, spec.parameter, spec.lenses, spec.grid, args.metrics, args.figures,
                                   f"population {spec.population}: {spec.parameter}, {len(args.stores)} populations")
    for n, row in metrics["by_lenses"].items():
        print(f"{n:>5} lenses: 68% interval holds the truth in {row['coverage_68']:.2f} of populations, 95% in "
              f"{row['coverage_95']:.2f}; mean std {row['mean_std']:.4g}, mean |mean − truth| {row['mean_abs_error']:.4g}")
    return 0


def _cmd_learning_curve(args: argparse.Namespace) -> int:
    from deeplense.report.learning_curve import learning_curve_table, plot_learning_curve
    from deeplense.workflow.specs import LearningCurveSpec

    spec = LearningCurveSpec.parse(args.spec)
    table = learning_curve_table(args.metrics, args.infos, spec.metric)
    plot_learning_curve(table, spec.metric, f"learning curve {spec.curve}: {spec.metric}", args.output, args.csv)
    print(table.to_string(index=False))
    return 0


def _cmd_reproduction(args: argparse.Namespace) -> int:
    from deeplense.report.reproduction import reproduction_table, write_reproduction
    from deeplense.workflow.specs import ReproductionSpec

    entries = [e.model_dump() for e in ReproductionSpec.parse(args.spec).entries]
    table = reproduction_table(entries, args.metrics, args.infos)
    write_reproduction(table, args.csv, args.html, args.markdown, args.summary)
    print(table.drop(columns=["source"]).to_string(index=False))
    return 0


def _cmd_record(args: argparse.Namespace) -> int:
    from deeplense.experiment import load_config
    from deeplense.report.records import write_record
    from deeplense.workflow.records import run_outputs

    cfg = load_config(args.config, build_models=False)
    metrics, train_infos = run_outputs(cfg, args.results)
    out = write_record(args.config, cfg.seed, metrics, train_infos, args.results, args.output)
    print(f"recorded the run of {args.config} in {out}/ (commit it: the documentation's tables quote it)")
    return 0


def _cmd_quote(args: argparse.Namespace) -> int:
    from pathlib import Path

    from deeplense.atomic import atomic_path
    from deeplense.physics import record_docs
    from deeplense.report.quotes import check, refresh

    problems: list[str] = []
    for path in args.files:
        if args.update:
            text = Path(path).read_text()
            new = record_docs.refresh(refresh(text, args.root))
            if new != text:
                with atomic_path(path) as tmp:
                    tmp.write_text(new)
                print(f"updated {path}")
        else:
            problems += check(path, args.root) + record_docs.check(path)
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


def _search(spec_text: str):
    """The search a rule's ``--spec`` describes (deeplense.workflow.plan.search_spec)."""
    from deeplense.search.config import SearchConfig
    from deeplense.search.study import Search
    from deeplense.workflow.specs import SearchSpec

    spec = SearchSpec.parse(spec_text)
    config = SearchConfig.model_validate(spec.search)
    return Search(spec.search_name, config, spec.model, spec.seed, spec.split, spec.study_name)


def _cmd_search_study(args: argparse.Namespace) -> int:
    search = _search(args.spec)
    study = search.open(args.journal)
    storage = search.config.storage
    if storage:  # an RDB URL: never write its password
        from sqlalchemy.engine import make_url

        storage = make_url(storage).render_as_string(hide_password=True)
    info = {"study": study.study_name, "directions": [d.name.lower() for d in study.directions],
            "storage": storage or args.journal, "n_trials": search.budget()}
    from deeplense.atomic import atomic_path

    with atomic_path(args.output) as tmp:
        tmp.write_text(json.dumps(info, indent=2, sort_keys=True))
    print(f"study {study.study_name} ready: {len(study.trials)} trial(s) so far")
    return 0


def _cmd_search_worker(args: argparse.Namespace) -> int:
    from deeplense.atomic import atomic_path
    from deeplense.search.worker import run_worker

    search = _search(args.spec)
    summary = run_worker(search, args.worker, args.store, args.journal, args.scratch)
    with atomic_path(args.output) as tmp:
        tmp.write_text(f"{summary}\n")
    print(f"search {search.name} worker {args.worker}: {summary}")
    return 0


def _cmd_search_summary(args: argparse.Namespace) -> int:
    import deeplense
    from deeplense.atomic import atomic_path
    from deeplense.search.config import best_model_name
    from deeplense.search.export import best_model_config, best_trial_number, plot_search, trials_table, write_trials
    from deeplense.workflow.specs import ModelSpec

    search = _search(args.spec)
    study = search.open(args.journal)
    table = trials_table(study, search)
    write_trials(table, args.trials, args.trials_html, search)
    plot_search(study, search, args.figures)
    best = ModelSpec(version=deeplense.__version__, seed=search.seed, model_name=best_model_name(search.name),
                     model=best_model_config(study, search), split=search.split)
    with atomic_path(args.best) as tmp:
        tmp.write_text(best.to_spec())
    print(table.to_string(index=False))
    print(f"best: trial {best_trial_number(study)}; trains as model {best.model_name}")
    return 0


def _cmd_unlock_stale(args: argparse.Namespace) -> int:
    from deeplense.workflow.locks import clear_stale_lock

    print(f"deeplense unlock-stale: {clear_stale_lock(args.directory)}")
    return 0


def _model_job(args: argparse.Namespace) -> "ModelSpec":
    """The model spec a command works on: the rule's ``--spec`` JSON, or, by hand, the model
    ``--model`` of the experiment ``--config`` (the same spec the workflow would pass)."""
    from deeplense.experiment import load_config
    from deeplense.errors import DeeplenseError
    from deeplense.workflow import plan
    from deeplense.workflow.specs import ModelSpec

    if args.spec:
        return ModelSpec.parse(args.spec)
    if args.spec_file:  # a spec only known after an earlier job: a search's best model
        return ModelSpec.parse(Path(args.spec_file).read_text())
    if not args.model:
        raise DeeplenseError("name the model: --model NAME (a model of --config), or give the workflow's --spec")
    cfg = load_config(args.config)
    if args.model not in cfg.models:
        raise DeeplenseError(f"--model {args.model!r} is not a model of {args.config}; allowed: {', '.join(cfg.models) or 'none'}")
    return plan.model_job(cfg, args.model)


def _store(args: argparse.Namespace, model: "ModelConfig") -> str:
    """``--store``, or the workflow's store that ``model`` reads, which must exist."""
    from deeplense.errors import DeeplenseError
    from deeplense.workflow.plan import store_path

    store = args.store or store_path(model.dataset, model.classes)
    if not Path(store).exists():
        raise DeeplenseError(f"dataset store {store} does not exist; build it first (snakemake {store})")
    return store


def _cmd_train(args: argparse.Namespace) -> int:
    from deeplense.plots.training import plot_training_curves
    from deeplense.storage.provenance import TrainInfo
    from deeplense.tasks import TASKS
    from deeplense.training.trainer import TrainOutputs, train_model
    from deeplense.workflow import plan

    spec = _model_job(args)
    name, cfg = spec.model_name, spec.config()
    outputs = TrainOutputs(
        Path(args.checkpoint or plan.CHECKPOINT.format(model=name)),
        Path(args.history or plan.HISTORY.format(model=name)),
        Path(args.info or plan.TRAIN_INFO.format(model=name)),
        Path(args.tensorboard) if args.tensorboard else (None if args.spec else Path(plan.TENSORBOARD.format(model=name))),
    )
    out = train_model(name, cfg, _store(args, cfg), outputs, seed=spec.seed, split=spec.split, resume=args.resume, device=args.device)
    title = f"{name} ({cfg.architecture}, {cfg.task}) on {cfg.dataset}"
    curves = args.curves or plan.TRAINING_CURVES.format(model=name)
    monitors = {column: (m.label, m.fraction) for column, m in TASKS.get(cfg.task).monitors.items() if column != "val_loss"}
    kept = TrainInfo.read(out.info).checkpoint_epoch
    plot_training_curves(out.history, curves, title, loss_name=cfg.loss_name or "objective", metrics=monitors, checkpoint_epoch=kept)
    print(f"wrote {out.checkpoint}")
    return 0


def _cmd_lr_find(args: argparse.Namespace) -> int:
    from deeplense.training.lr_range import lr_range_test, write_lr_range

    spec = _model_job(args)
    name, model = spec.model_name, spec.config()
    result = lr_range_test(
        model, _store(args, model), seed=spec.seed, split=spec.split, start_lr=args.start_lr, end_lr=args.end_lr, steps=args.steps
    )
    title = f"LR range test: {name} ({model.architecture}, {model.optimizer}) on {model.dataset}"
    write_lr_range(result, args.output, Path(args.output).with_suffix(".csv"), title)
    print(f"{name}: {result.summary()} ({len(result.lrs)} steps); wrote {args.output}")
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from deeplense.evaluation.evaluate import EvalOutputs, evaluate_model
    from deeplense.tasks import TASKS
    from deeplense.workflow import plan

    spec = _model_job(args)
    name = spec.model_name
    outputs = EvalOutputs(
        Path(args.metrics or plan.METRICS.format(model=name)),
        Path(args.predictions or plan.PREDICTIONS.format(model=name)),
        Path(args.figures or plan.FIGURES.format(model=name)),
    )
    checkpoint = args.checkpoint or plan.CHECKPOINT.format(model=name)
    m = evaluate_model(
        name, checkpoint, _store(args, spec.config()), outputs, split=spec.split, n_resamples=args.resamples, device=args.device
    )
    headline = TASKS.get(m.task).headline
    print(f"{m.model} on {m.dataset} (test, n={m.n_test}): " + ", ".join(f"{k} {m.values[k]}" for k in headline))
    return 0


def _cmd_leaderboard(args: argparse.Namespace) -> int:
    from deeplense.report.leaderboard import write_leaderboard

    searches = dict(item.split("=", 1) for item in args.searches)
    table = write_leaderboard(args.metrics, args.csv, args.html, args.markdown, args.published, searches, args.summary, args.seed_metrics)
    print(table.to_string(index=False))
    return 0


def _cmd_parameters(args: argparse.Namespace) -> int:
    from deeplense.report.parameters import plot_parameter_histograms

    plot_parameter_histograms(args.store, args.output)
    return 0


def _cmd_predict(args: argparse.Namespace) -> int:
    from deeplense.predict.run import predict_to_zarr

    fits_ext = int(args.fits_ext) if args.fits_ext is not None and args.fits_ext.lstrip("-").isdigit() else args.fits_ext
    slurm = {"slurm_partition": args.slurm_partition, "slurm_account": args.slurm_account, "mem_mb": args.slurm_mem_mb,
             "runtime": args.slurm_runtime}
    run = predict_to_zarr(
        args.model, args.inputs, args.output, split=args.split, variable=args.variable, sample_dim=args.sample_dim,
        band_dim=args.band_dim, fits_ext=fits_ext, resize=args.resize, crop=args.crop, all_classes=args.all_classes,
        batch_size=args.batch_size, block=args.block,
        workers=args.workers, executor=args.executor, scheduler=args.scheduler, cluster=args.cluster, profile=args.profile, slurm_overrides=slurm,
        csv={"auto": None, "yes": True, "no": False}[args.csv], progress=not args.quiet,
    )
    rate = run.n_images / run.seconds if run.seconds > 0 else float("nan")
    where = f"in this process on {run.workers} thread(s)" if run.executor == "in_process" else \
        f"on a Dask cluster of {run.workers or 'its'} worker(s)"
    computed = f", {where}" if run.blocks_computed else ""
    print(f"wrote {run.output}: {run.n_images} images, {run.blocks_computed} of {run.blocks} blocks computed now{computed} "
          f"({run.seconds:.1f} s, {rate:.0f} images/s)")
    return 0


def _cmd_prediction_figures(args: argparse.Namespace) -> int:
    from deeplense.predict.figures import plot_prediction_figures

    for path in plot_prediction_figures(args.store, args.figures, args.rank_by, args.top):
        print(f"wrote {path}")
    return 0


def _model_arguments(s: argparse.ArgumentParser, store_help: str = "dataset store") -> None:
    s.add_argument("--model", help="a model of the config's `models` (by hand)")
    s.add_argument("--config", default="config.yaml", help="experiment config of --model (default config.yaml)")
    s.add_argument("--spec", help="the workflow's JSON model spec instead of --model/--config (what the rules pass)")
    s.add_argument("--spec-file", help="a file holding that spec (a search's best_model.json)")
    s.add_argument("--store", help=f"{store_help}; default results/datasets/<dataset>/dataset.zarr")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="deeplense", description="Simulate dark-matter strong-lensing datasets, train and evaluate networks on them.")
    p.add_argument("--version", action="version", version=f"deeplense {__version__}")
    p.add_argument("--threads", type=int, default=None, help="threads for BLAS, OpenMP and numba (default: library defaults); torch in train, "
                   "lr-find and evaluate runs on the model's own `threads` setting")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("check-config", help="validate an experiment config and summarise it")
    s.add_argument("config")
    s.set_defaults(func=_cmd_check_config)

    s = sub.add_parser("schema", help="print the config's JSON schema")
    s.set_defaults(func=_cmd_schema)

    s = sub.add_parser("backends", help="print the renderer backends a config's datasets use, one per line")
    s.add_argument("--config", required=True)
    s.set_defaults(func=_cmd_backends)

    s = sub.add_parser("simulate", help="simulate one shard of one class into a Zarr store")
    s.add_argument("--spec", required=True, help="JSON spec (see deeplense.workflow.plan.simulate_spec)")
    s.add_argument("--shard", type=int, required=True)
    s.add_argument("--output", required=True)
    s.set_defaults(func=_cmd_simulate)

    s = sub.add_parser("store", help="validate shards and combine them into the dataset store")
    s.add_argument("--spec", required=True, help="JSON spec (see deeplense.workflow.plan.store_spec)")
    s.add_argument("--shards", nargs="+", required=True)
    s.add_argument("--output", required=True)
    s.set_defaults(func=_cmd_store)

    s = sub.add_parser("regenerate", help="rebuild one stored image from its record (seed and config)")
    s.add_argument("store")
    s.add_argument("index", type=int, help="sample index in the store")
    s.add_argument("--check", action="store_true", help="exit 1 unless bit-identical to the stored image")
    s.add_argument("--output", help="save the rebuilt (band, y, x) image as .npy")
    s.set_defaults(func=_cmd_regenerate)

    s = sub.add_parser(
        "signal",
        help="how strong each class's substructure is: each image against the same system without substructure, "
        "as a fraction of the image and as a χ² against its noise",
    )
    s.add_argument("config", help="experiment config")
    s.add_argument("--dataset", nargs="+", help="datasets to measure (default: all of the config's)")
    s.add_argument("--images", type=int, default=50, help="the first N images of each class, from the workflow's seeds (default 50)")
    s.add_argument("--output", help="summary table (.csv)")
    s.add_argument("--quiet", action="store_true", help="write the CSV only, print no table")
    s.set_defaults(func=_cmd_signal)

    s = sub.add_parser("gallery", help="save a grid of example images per class")
    s.add_argument("--store", required=True)
    s.add_argument("--per-class", type=int, default=6)
    s.add_argument("--output", required=True)
    s.set_defaults(func=_cmd_gallery)

    s = sub.add_parser("inspect", help="summarise a dataset store; optionally save example images")
    s.add_argument("store")
    s.add_argument("--grid", help="save a grid of example images per class to this PNG")
    s.add_argument("--per-class", type=int, default=6)
    s.set_defaults(func=_cmd_inspect)

    s = sub.add_parser("validate", help="read every chunk of a store and check it against its hash")
    s.add_argument("store")
    s.set_defaults(func=_cmd_validate)

    s = sub.add_parser("sensitivity", help="plot a metric against a swept physics parameter")
    s.add_argument("--spec", required=True, help="JSON spec (see deeplense.workflow.plan.sweep_spec)")
    s.add_argument("--metrics", nargs="+", required=True)
    s.add_argument("--output", required=True, help="figure (.png)")
    s.add_argument("--csv", required=True, help="table (.csv)")
    s.set_defaults(func=_cmd_sensitivity)

    s = sub.add_parser("population", help="stack a posterior model's per-lens posteriors over populations sharing a parameter")
    s.add_argument("--spec", required=True, help="JSON spec (see deeplense.workflow.plan.population_spec)")
    s.add_argument("--checkpoint", required=True, help="the posterior model's checkpoint.pt")
    s.add_argument("--stores", nargs="+", required=True, help="one dataset store per population, in population order")
    s.add_argument("--metrics", required=True, help="metrics (.json)")
    s.add_argument("--figures", required=True, help="figure folder")
    s.set_defaults(func=_cmd_population)

    s = sub.add_parser("learning-curve", help="plot a metric against the training images per class of a learning curve's models")
    s.add_argument("--spec", required=True, help="JSON spec (see deeplense.workflow.plan.learning_curve_spec)")
    s.add_argument("--metrics", nargs="+", required=True)
    s.add_argument("--infos", nargs="+", required=True, help="the models' train_info.json, in the same order")
    s.add_argument("--output", required=True, help="figure (.png)")
    s.add_argument("--csv", required=True, help="table (.csv)")
    s.set_defaults(func=_cmd_learning_curve)

    s = sub.add_parser("reproduction", help="tables of the models that reproduce published DeepLense values, beside them")
    s.add_argument("--spec", required=True, help="JSON spec (see deeplense.workflow.plan.reproduction_spec)")
    s.add_argument("--metrics", nargs="+", required=True)
    s.add_argument("--infos", nargs="+", required=True, help="the models' train_info.json, in the same order")
    s.add_argument("--csv", required=True)
    s.add_argument("--html", required=True)
    s.add_argument("--markdown", required=True)
    s.add_argument("--summary", help="every row in brief, an HTML fragment for the report's landing page")
    s.set_defaults(func=_cmd_reproduction)

    s = sub.add_parser("record", help="copy a finished run's metrics into a small record to commit (reproductions/<config>/)")
    s.add_argument("--config", required=True, help="the experiment config the run used")
    s.add_argument("--results", default="results", help="the run's results folder (default: results)")
    s.add_argument("--output", required=True, help="the record's folder, e.g. reproductions/model_i_cpu")
    s.set_defaults(func=_cmd_record)

    s = sub.add_parser("quote", help="check (default) or regenerate the tables Markdown files quote from records or the code")
    s.add_argument("files", nargs="+", help="Markdown files with <!-- quote: RECORD KIND --> or <!-- generated: record fields --> blocks")
    s.add_argument("--update", action="store_true", help="rewrite each block from its record instead of checking it")
    s.add_argument("--root", default=".", help="folder the records' paths are relative to (default: .)")
    s.set_defaults(func=_cmd_quote)

    s = sub.add_parser("search-study", help="create a search's Optuna study (or find it) and write its marker")
    s.add_argument("--spec", required=True, help="JSON spec (see deeplense.workflow.plan.search_spec)")
    s.add_argument("--journal", required=True, help="Optuna journal file (unless the search names an RDB storage)")
    s.add_argument("--output", required=True, help="marker (.json): study name, directions, storage")
    s.set_defaults(func=_cmd_search_study)

    s = sub.add_parser("search-worker", help="run a search's trials as one worker slot until the study holds n_trials")
    s.add_argument("--spec", required=True, help="JSON spec (see deeplense.workflow.plan.search_spec)")
    s.add_argument("--worker", type=int, required=True, help="the worker slot (0 .. workers-1)")
    s.add_argument("--store", required=True, help="the base model's dataset store")
    s.add_argument("--journal", required=True)
    s.add_argument("--scratch", required=True, help="folder for the trials' temporary training outputs")
    s.add_argument("--output", required=True, help="marker written when the slot is done")
    s.set_defaults(func=_cmd_search_worker)

    s = sub.add_parser("search-summary", help="a finished search's trials table, figures and best model config")
    s.add_argument("--spec", required=True, help="JSON spec (see deeplense.workflow.plan.search_spec)")
    s.add_argument("--journal", required=True)
    s.add_argument("--trials", required=True, help="every trial (.csv)")
    s.add_argument("--trials-html", required=True, help="the same, for the report (.html)")
    s.add_argument("--best", required=True, help="the best trial's model spec (.json), trained as <search>_best")
    s.add_argument("--figures", required=True, help="folder for Optuna's figures (.png)")
    s.set_defaults(func=_cmd_search_summary)

    s = sub.add_parser("unlock-stale", help="remove a Snakemake lock left by a killed run (never a live one's)")
    s.add_argument("--directory", default=".", help="the workflow's working directory")
    s.set_defaults(func=_cmd_unlock_stale)

    s = sub.add_parser("train", help="train one model on its dataset store (by hand: --model NAME [--config FILE])")
    _model_arguments(s)
    s.add_argument("--checkpoint", help="best checkpoint (.pt); default results/models/<model>/checkpoint.pt")
    s.add_argument("--history", help="per-epoch metrics (.csv); default beside the checkpoint")
    s.add_argument("--info", help="provenance (.json); default beside the checkpoint")
    s.add_argument("--curves", help="training-curves figure (.png); default beside the checkpoint")
    s.add_argument("--tensorboard", help="TensorBoard event directory")
    s.add_argument("--resume", action="store_true", help="continue an interrupted run from its train_state.pt (same config, data, seed)")
    s.add_argument("--device", help="override the model's `device` setting: auto, cpu, cuda, cuda:1, ...")
    s.set_defaults(func=_cmd_train)

    s = sub.add_parser("lr-find", help="learning-rate range test of a configured model; saves the loss-vs-lr plot")
    _model_arguments(s)
    s.add_argument("--output", required=True, help="plot (.png); the table goes beside it (.csv)")
    s.add_argument("--start-lr", type=float, default=1e-7)
    s.add_argument("--end-lr", type=float, default=10.0)
    s.add_argument("--steps", type=int, default=100)
    s.set_defaults(func=_cmd_lr_find)

    s = sub.add_parser("evaluate", help="evaluate a model's checkpoint on the test split of a dataset store (by hand: --model NAME)")
    _model_arguments(s, store_help="the model's dataset (default), or another one with the same classes (domain shift)")
    s.add_argument("--checkpoint", help="default results/models/<model>/checkpoint.pt")
    s.add_argument("--metrics", help="metrics with provenance (.json); default beside the checkpoint")
    s.add_argument("--predictions", help="per-sample predictions (.csv); default beside the checkpoint")
    s.add_argument("--figures", help="folder for the task's figures (.png); default beside the checkpoint")
    s.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples of the test set for intervals")
    s.add_argument("--device", help="override the model's `device` setting")
    s.set_defaults(func=_cmd_evaluate)

    s = sub.add_parser("leaderboard", help="collect metrics.json files into CSV, Markdown and HTML tables")
    s.add_argument("--metrics", nargs="+", required=True)
    s.add_argument("--csv", required=True)
    s.add_argument("--html", required=True)
    s.add_argument("--markdown", help="Markdown version (.md)")
    s.add_argument("--published", help="published DeepLense values (.csv)")
    s.add_argument("--summary", help="the headline rows, an HTML fragment for the report's landing page")
    s.add_argument("--searches", nargs="*", default=[], help="MODEL=SEARCH: the search a model's config came from")
    s.add_argument(
        "--seed-metrics", nargs="*", default=[],
        help="metrics.json of training repeats (seeds:): columns seeds, seed_mean, seed_std (ddof=1) of the headline metric",
    )
    s.set_defaults(func=_cmd_leaderboard)

    s = sub.add_parser("predict", help="apply a trained model to new images (stores, Zarr, FITS, .npy), in this process or on Dask distributed")
    s.add_argument("model", help="a results/models/<name> folder or its checkpoint.pt")
    s.add_argument("inputs", nargs="+", metavar="INPUT", help="a deeplense store, a Zarr array or xarray dataset, FITS files "
                   "(files, folders or globs) or .npy stacks")
    s.add_argument("--output", required=True, help="the prediction store to write (OUT.zarr; a CSV beside it when small)")
    s.add_argument("--split", choices=["train", "val", "test"], help="of a deeplense store: only this split (the model's fractions)")
    s.add_argument("--all-classes", action="store_true", help="of a deeplense store: images of every class, not only the model's")
    s.add_argument("--variable", help="of an xarray dataset: the image variable (default: `image`, or the only 3-/4-D one)")
    s.add_argument("--sample-dim", help="of an xarray dataset: the dimension along images (default: the variable's first)")
    s.add_argument("--band-dim", help="of an xarray dataset: the band dimension, if any (default: the one besides two spatial)")
    s.add_argument("--fits-ext", help="FITS extension, by number or name (default: the first holding an image)")
    s.add_argument("--resize", action="store_true", help="resample images at another pixel scale to the model's grid, conserving flux "
                   "(summed per pixel; averaged for a surface brightness unit)")
    s.add_argument("--crop", action="store_true", help="cut the model's field of view from the centre of larger images "
                   "(with --resize: then resample it)")
    s.add_argument("--batch-size", type=int, default=128, help="images per forward pass (default 128)")
    s.add_argument("--block", type=int, help="images per Dask task (default: at least 1024, in whole Zarr chunks of the input)")
    s.add_argument("--workers", type=int, help="Dask workers, or threads in this process (default: one per core locally, one SLURM "
                   "job with --cluster slurm)")
    s.add_argument("--executor", choices=["auto", "in_process", "cluster"], default="auto",
                   help="where blocks run: auto (default) predicts in this process, on --workers threads, unless --scheduler or "
                   "--cluster slurm names a cluster; in_process or cluster (a LocalCluster) force either")
    s.add_argument("--scheduler", help="address of a running Dask scheduler (tcp://host:8786) instead of starting a cluster")
    s.add_argument("--cluster", choices=["local", "slurm"], default="local", help="start a LocalCluster (default) or workers as SLURM jobs")
    s.add_argument("--profile", help="the Snakemake SLURM profile whose resources the worker jobs ask for (default profiles/slurm)")
    s.add_argument("--slurm-partition", help="partition of the worker jobs (default: the profile's)")
    s.add_argument("--slurm-account", help="account of the worker jobs (default: the profile's)")
    s.add_argument("--slurm-mem-mb", type=int, help="memory per worker job in MB (default: the profile's)")
    s.add_argument("--slurm-runtime", type=int, help="minutes per worker job (default: the profile's)")
    s.add_argument("--csv", choices=["auto", "yes", "no"], default="auto", help="a CSV beside the store (auto: up to 100,000 images)")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=_cmd_predict)

    s = sub.add_parser("prediction-figures", help="a prediction store's score distribution and top-ranked images")
    s.add_argument("store", help="a store written by `deeplense predict`")
    s.add_argument("--figures", required=True, help="folder to write score_distribution.png and top_ranked.png into")
    s.add_argument("--rank-by", help="a class (classifier) or target (regressor) to rank by; default: the first class "
                   "other than no_sub, the first target, or the anomaly score")
    s.add_argument("--top", type=int, default=16, help="top-ranked images shown (default 16)")
    s.set_defaults(func=_cmd_prediction_figures)

    s = sub.add_parser("parameters", help="histograms of a dataset's drawn per-image parameters by class")
    s.add_argument("--store", required=True)
    s.add_argument("--output", required=True, help="figure (.png)")
    s.set_defaults(func=_cmd_parameters)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.threads is not None:
        limit_threads(args.threads)
    from deeplense.errors import DeeplenseError

    try:
        return args.func(args)
    except DeeplenseError as e:  # the message names the file and the problem: no traceback
        print(f"deeplense {args.command}: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
