"""The training loop: stream the training split from Zarr, validate each epoch, select the
checkpoint on the monitored validation figure, stop early when it stalls, save everything to
continue after a kill, and write history and provenance beside the checkpoint.

Determinism (on the CPU, torch's deterministic algorithms on): the initial weights come from
``seed``; the batches, their augmentation and noise from (seed, epoch, batch), whatever the
number of loader workers; torch's random state is saved with every epoch, so a run resumed after a
kill reaches the same weights as one never interrupted. torch runs on the model's own ``threads``,
never on what the scheduler grants the job: with the same inputs, 1- and 2-thread CPU torch
differ in the last bits from the first step, because the batch-norm batch statistics (forward)
and the convolution weight gradients (backward) are reductions split across threads; the optimiser
step and the data are thread-independent. So ``threads`` is part of the model's config and hash.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from deeplense.config import ModelConfig, dump_json
from deeplense.data.normalisation import image_stats
from deeplense.data.splits import dataset_splits, first_per_class
from deeplense.data.torch_loader import ChunkStream, make_loader
from deeplense.models.registry import create_model
from deeplense.pause_points import pause_point
from deeplense.atomic import atomic_path
from deeplense.storage.dataset_store import open_dataset
from deeplense.storage.provenance import CheckpointInfo, TrainInfo, git_commit, software_versions
from deeplense.training import checkpoints
from deeplense.training.checkpoints import load_checkpoint  # noqa: F401  (the public way in)
from deeplense.training.device import Device, cpu_description, emulated_bfloat16_warning, select_device
from deeplense.training.history import TensorBoardLog, write_history
from deeplense.training.optim import build_optimizer, build_schedule
from deeplense.training.steps import train_step
from deeplense.tasks import Task, make_task

TRAINING_PACKAGES = ("torch", "timm", "pytorch_optimizer", "scikit-learn")


@dataclass(frozen=True)
class TrainOutputs:
    """Where training writes: selected checkpoint, per-epoch history, provenance, the resumable
    state of the run and TensorBoard events."""

    checkpoint: Path
    history: Path
    info: Path
    tensorboard: Path | None = None

    @classmethod
    def in_dir(cls, out_dir: str | Path) -> "TrainOutputs":
        out_dir = Path(out_dir)
        return cls(out_dir / "checkpoint.pt", out_dir / "history.csv", out_dir / "train_info.json", out_dir / "tensorboard")

    @property
    def train_state(self) -> Path:
        return self.checkpoint.with_name(checkpoints.TRAIN_STATE_NAME)


@dataclass
class Setup:
    """A model ready to train on a store: its task, splits, normalisation and initial weights."""

    cfg: ModelConfig
    store: str | Path
    seed: int
    ds: Any
    task: Task
    splits: dict[str, np.ndarray]
    stats: dict[str, list[float]]
    targets: np.ndarray
    in_chans: int
    img_size: int
    device: Device
    model: torch.nn.Module

    def stream(self, indices: np.ndarray, *, train: bool) -> ChunkStream:
        """Batches of ``indices``: shuffled, augmented and noised for training, in order otherwise."""
        c = self.cfg
        return ChunkStream(
            self.store, indices, self.targets, self.stats["mean"], self.stats["std"], batch_size=c.batch_size, shuffle=train,
            seed=self.seed, buffer_mb=c.shuffle_buffer_mb, augment=train and c.augment, noise_std=c.noise_std if train else 0.0,
        )


def prepare(cfg: ModelConfig, store: str | Path, *, seed: int, split: dict[str, float], device: str = "auto") -> Setup:
    """Open the store, fix the task's samples and target statistics (training split only) and
    build the model with seeded initial weights, on the config's torch threads, deterministic
    algorithms on. Warns (stderr) when ``precision: bfloat16`` runs on a CPU that emulates it."""
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    ds = open_dataset(store)
    task = make_task(cfg, ds)
    splits = {k: task.train_indices(ds, v) for k, v in dataset_splits(ds, split).items()}
    if cfg.train_images_per_class is not None:  # a point of a learning curve: the first N of each class
        splits["train"] = first_per_class(splits["train"], ds["label"].values, cfg.train_images_per_class)
    if splits["train"].size == 0:
        raise ValueError(f"dataset store {store}: no training sample for {cfg.task} on classes {task.model_classes}")
    task.fit(ds, splits["train"])
    stats = image_stats(ds, splits["train"])
    _, in_chans, img_size, _ = ds["image"].shape
    dev = select_device(device, cfg.precision)
    warning = emulated_bfloat16_warning(dev)  # once per training: explicit bfloat16 on a CPU that emulates it
    if warning:
        print(warning, file=sys.stderr)
    model = task.network(create_model(
        cfg.architecture, in_chans=in_chans, num_outputs=task.num_outputs(), img_size=img_size, pretrained=cfg.pretrained, **cfg.architecture_args
    ))
    return Setup(cfg, store, seed, ds, task, splits, stats, task.targets(ds), in_chans, img_size, dev, dev.model(model))


@torch.no_grad()
def validate(model: torch.nn.Module, loader, task: Task, device: Device) -> dict[str, float]:
    """Mean validation loss and the task's validation metrics (one forward pass per batch)."""
    model.eval()
    total, seen, preds, targets = 0.0, 0, [], []
    for images, y, _ in loader:
        images, y = device.batch(images), y.to(device.device)
        with device.autocast():
            loss, p = task.loss_and_predictions(model, images, y)
        total += float(loss) * y.shape[0]
        seen += y.shape[0]
        preds.append(p)
        targets.append(y.cpu().numpy())
    merged = {k: np.concatenate([p[k] for p in preds]) for k in preds[0]} if preds else {}
    out = {"val_loss": total / max(seen, 1)}
    if seen:
        out.update(task.val_metrics(merged, np.concatenate(targets)))
    return out


def _train_epoch(model, loader, task, optimizer, schedule, device, scaler, desc: str) -> tuple[float, float]:
    """Mean training loss, and the fraction of the epoch's time spent waiting for data."""
    model.train()
    total, seen, waited = 0.0, 0, 0.0
    start = time.perf_counter()
    batches = iter(loader)
    with tqdm(total=len(loader.dataset), desc=desc, unit="batch", leave=False, mininterval=2) as bar:
        while True:
            t0 = time.perf_counter()
            try:
                images, targets, _ = next(batches)
            except StopIteration:
                break
            waited += time.perf_counter() - t0
            if targets.shape[0] < 2:  # a last batch of one image: batch norm cannot train on it
                continue
            images, targets = device.batch(images), targets.to(device.device)
            loss = train_step(model, task, optimizer, images, targets, device, scaler)
            pause_point("train.step_done")
            schedule.batch_end()
            total += loss * targets.shape[0]
            seen += targets.shape[0]
            bar.update()
            bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
    elapsed = time.perf_counter() - start
    return total / max(seen, 1), waited / max(elapsed, 1e-9)


def _is_better(value: float, best: float | None, maximise: bool) -> bool:
    return best is None or (value > best if maximise else value < best)


def _select(name: str, cfg: ModelConfig, row: dict[str, Any], best: dict[str, Any], model: torch.nn.Module, maximise: bool) -> dict[str, Any]:
    """The kept weights after an epoch (``model_state``, from epoch ``kept_epoch``): the best so far
    on ``monitor`` (``checkpoint: best``) or this epoch's; ``epoch``/``value`` follow the best
    monitored epoch (early stopping reads them), ``last_value`` is this epoch's monitored value
    (None without validation)."""
    if "val_loss" not in row:  # no validation split: only `checkpoint: last` gets here (config check)
        return {"value": None, "epoch": row["epoch"], "last_value": None, "model_state": _copy_state(model), "kept_epoch": row["epoch"]}
    if cfg.monitor not in row:
        metrics = sorted(k for k in row if k.startswith("val_"))
        raise ValueError(
            f"model {name}: validation gave no {cfg.monitor} at epoch {row['epoch']} (it gave {', '.join(metrics)}); "
            f"val_auc needs every class in the validation split: give the dataset more images or monitor val_loss"
        )
    value = row[cfg.monitor]
    improved = _is_better(value, best["value"], maximise)
    keep_now = improved or cfg.checkpoint == "last"
    kept = {"model_state": _copy_state(model), "kept_epoch": row["epoch"]} if keep_now else {}
    if improved:
        return {**best, "value": value, "epoch": row["epoch"], "last_value": value, **kept}
    return {**best, "last_value": value, **kept}


def _copy_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}


@dataclass
class Run:
    """The state of a training run between epochs: what a resumed run restores."""

    name: str
    setup: Setup
    train_data: ChunkStream
    train_loader: Any
    val_loader: Any | None
    maximise: bool
    optimizer: torch.optim.Optimizer
    schedule: Any
    scaler: torch.amp.GradScaler | None
    fingerprint: str
    history: list[dict[str, Any]] = field(default_factory=list)
    best: dict[str, Any] = field(default_factory=lambda: {"value": None, "epoch": -1, "last_value": None, "model_state": None, "kept_epoch": -1})
    first_epoch: int = 0
    stopped_early: bool = False


def start_run(name: str, setup: Setup, split: dict[str, float]) -> Run:
    """Loaders, optimiser, schedule and loss scaler of a fresh run of ``setup``; refuses a run
    whose checkpoint selection or early stopping needs a validation split that is empty."""
    cfg, task, splits = setup.cfg, setup.task, setup.splits
    train_data = setup.stream(splits["train"], train=True)
    train_loader = make_loader(train_data, cfg.num_workers)
    needs_validation = cfg.needs_validation()
    if splits["val"].size == 0 and needs_validation:
        raise ValueError(
            f"model {name}: the validation split of {setup.store} holds no image of classes {task.model_classes}, and "
            f"{', '.join(needs_validation)} needs one (never selected on training data): give the dataset more images "
            "or a larger split.val, or set checkpoint: last without early_stopping or plateau"
        )
    val_loader = make_loader(setup.stream(splits["val"], train=False), cfg.num_workers) if splits["val"].size else None
    maximise = type(task).maximised(cfg.monitor)
    optimizer = build_optimizer(cfg, setup.model.parameters())
    schedule = build_schedule(cfg, optimizer, len(train_data), maximise)
    dev = setup.device
    scaler = torch.amp.GradScaler(dev.device.type) if dev.needs_grad_scaler() and cfg.optimizer != "sam" else None
    fingerprint = f"{cfg.config_hash(setup.seed, split)}|{setup.ds.attrs['content_hash']}"
    return Run(name, setup, train_data, train_loader, val_loader, maximise, optimizer, schedule, scaler, fingerprint)


def resume_run(run: Run, train_state: Path) -> None:
    """Continue ``run`` from its saved state after the last finished epoch, if ``train_state``
    holds one of the same config, data and seed (otherwise the run starts afresh)."""
    saved = checkpoints.load_train_state(train_state, run.fingerprint)
    if saved is None:
        return
    run.setup.model.load_state_dict(saved["model_state"])
    run.optimizer.load_state_dict(saved["optimizer_state"])
    run.schedule.scheduler.load_state_dict(saved["scheduler_state"])
    if run.scaler is not None and saved.get("scaler_state"):
        run.scaler.load_state_dict(saved["scaler_state"])
    checkpoints.restore_rng_states(saved["rng_states"])
    run.history, run.best, run.first_epoch = saved["history"], saved["best"], saved["epoch"] + 1
    run.stopped_early = bool(saved.get("stopped_early"))
    print(f"resuming {run.name} after epoch {saved['epoch']} from {train_state}")


def run_epoch(run: Run, epoch: int, outputs: TrainOutputs, log: TensorBoardLog | None) -> None:
    """Train and validate one epoch, keep the selected weights, decide on early stopping, and save
    the state a killed run resumes from."""
    setup, cfg = run.setup, run.setup.cfg
    model, task, dev = setup.model, setup.task, setup.device
    start = time.perf_counter()
    run.train_data.set_epoch(epoch)
    lr = run.optimizer.param_groups[0]["lr"]
    train_loss, wait = _train_epoch(model, run.train_loader, task, run.optimizer, run.schedule, dev, run.scaler, f"epoch {epoch}")
    row = {"epoch": epoch, "train_loss": train_loss, **(validate(model, run.val_loader, task, dev) if run.val_loader else {})}
    row.update(lr=lr, seconds=time.perf_counter() - start, data_wait_fraction=wait)
    run.history.append(row)
    if log:
        log.log(row)
    run.best = _select(run.name, cfg, row, run.best, model, run.maximise)
    run.schedule.epoch_end(run.best["last_value"])
    run.stopped_early = cfg.early_stopping is not None and epoch - run.best["epoch"] >= cfg.early_stopping
    checkpoints.save(
        {
            "fingerprint": run.fingerprint,
            "epoch": epoch,
            "model_state": model.state_dict(),
            "optimizer_state": run.optimizer.state_dict(),
            "scheduler_state": run.schedule.scheduler.state_dict(),
            "scaler_state": run.scaler.state_dict() if run.scaler is not None else None,
            "rng_states": checkpoints.rng_states(),
            "history": run.history,
            "best": run.best,
            "stopped_early": run.stopped_early,
        },
        outputs.train_state,
    )
    write_history(run.history, outputs.history)
    pause_point("train.epoch_saved")


def checkpoint_state(run: Run, split: dict[str, float]) -> dict[str, Any]:
    """The checkpoint: the kept weights and all that evaluation needs to use them."""
    setup, cfg = run.setup, run.setup.cfg
    instrument = setup.ds.attrs["config"]["instrument"]
    info = CheckpointInfo(
        architecture=cfg.architecture,
        architecture_args=cfg.architecture_args,
        task=cfg.task,
        task_state=setup.task.state(),
        in_chans=setup.in_chans,
        img_size=setup.img_size,
        num_outputs=setup.task.num_outputs(),
        classes=setup.task.classes,
        normalisation=setup.stats,
        epoch=run.best["kept_epoch"],
        selected_by=f"{cfg.monitor} (best)" if cfg.checkpoint == "best" else "last epoch",
        monitor=cfg.monitor,
        monitor_value=run.best["value"],
        seed=setup.seed,
        threads=cfg.threads,
        device=cfg.device,
        config_hash=cfg.config_hash(setup.seed, split),
        dataset=setup.ds.attrs["dataset"],
        dataset_hash=setup.ds.attrs["content_hash"],
        pixel_scale=instrument["pixel_scale"],
        bands=[band["name"] for band in instrument["bands"]],
    )
    return info.to_dict() | {"model_state": run.best["model_state"]}


def train_info(run: Run, split: dict[str, float]) -> TrainInfo:
    """The run's provenance (train_info.json): config, data, split sizes, selection, software."""
    setup, cfg = run.setup, run.setup.cfg
    ds, task, splits, dev = setup.ds, setup.task, setup.splits, setup.device
    return TrainInfo(
        model=run.name,
        config=json.loads(dump_json(cfg.model_dump(mode="json"))),
        config_hash=cfg.config_hash(setup.seed, split),
        seed=setup.seed,
        split=split,
        dataset=ds.attrs["dataset"],
        dataset_hash=ds.attrs["content_hash"],
        store=str(setup.store),
        task=task.state(),
        classes=task.classes,
        split_sizes={k: int(v.size) for k, v in splits.items()},
        image_shape=(setup.in_chans, setup.img_size, setup.img_size),
        train_per_class={c: int((ds["label"].values[splits["train"]] == ds.attrs["classes"].index(c)).sum()) for c in task.model_classes},
        normalisation=setup.stats,
        best_epoch=run.best["epoch"],
        checkpoint_epoch=run.best["kept_epoch"],
        checkpoint=cfg.checkpoint,
        monitor={cfg.monitor: run.best["value"]},
        epochs_run=len(run.history),
        stopped_early=run.stopped_early,
        device=str(dev.device),
        mixed_precision=str(dev.autocast_dtype) if dev.autocast_dtype else None,
        threads=cfg.threads,
        software=software_versions(TRAINING_PACKAGES),
        git_commit=git_commit(),
        cpu=cpu_description() if dev.device.type == "cpu" else None,
    )


def train_model(
    name: str,
    cfg: ModelConfig,
    store: str | Path,
    outputs: TrainOutputs,
    *,
    seed: int,
    split: dict[str, float],
    resume: bool = False,
    device: str | None = None,
    epoch_end: Callable[[int, dict[str, Any]], None] | None = None,
) -> TrainOutputs:
    """Train model ``name`` on the dataset store; write the checkpoint, history and provenance.

    ``resume``: continue from the run's saved state (same config, data and seed) if there is one.
    ``device``: overrides the config's ``device``. ``epoch_end(epoch, row)`` is called after each
    epoch with its history row (losses and validation metrics): a search reports the metric to its
    pruner there, and stops a trial by raising. The checkpoint keeps the weights of the epoch
    best on ``monitor`` over the validation split (``checkpoint: best``) or of the last epoch.
    """
    setup = prepare(cfg, store, seed=seed, split=split, device=device or cfg.device)
    run = start_run(name, setup, split)
    if resume:
        resume_run(run, outputs.train_state)
    log = TensorBoardLog(outputs.tensorboard, run.first_epoch) if outputs.tensorboard else None
    for epoch in tqdm(range(run.first_epoch, cfg.epochs), desc=f"train {name}", unit="epoch", initial=run.first_epoch, total=cfg.epochs):
        if run.stopped_early:
            break
        run_epoch(run, epoch, outputs, log)
        if epoch_end is not None:
            epoch_end(epoch, run.history[-1])
    if log:
        log.close()
    checkpoints.save(checkpoint_state(run, split), outputs.checkpoint)
    write_history(run.history, outputs.history)
    with atomic_path(outputs.info) as tmp:
        tmp.write_text(train_info(run, split).to_json())
    return outputs
