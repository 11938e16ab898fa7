"""The training loop: stream the training split from Zarr, validate each epoch, keep the best
checkpoint (by validation loss), and write history and provenance beside it."""

from __future__ import annotations

import csv
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from deeplense.config import ModelConfig, dump_json
from deeplense.data.normalisation import image_stats
from deeplense.data.splits import dataset_splits
from deeplense.data.torch_loader import ChunkStream, make_loader
from deeplense.models.registry import create_model
from deeplense.storage.atomic import atomic_path
from deeplense.storage.dataset_store import open_dataset
from deeplense.storage.provenance import software_versions
from deeplense.training.tasks import make_task

HISTORY_FIELDS = ("epoch", "train_loss", "val_loss", "val_accuracy", "lr", "seconds")


@dataclass(frozen=True)
class TrainOutputs:
    """Where training writes: best checkpoint, per-epoch history, provenance."""

    checkpoint: Path
    history: Path
    info: Path

    @classmethod
    def in_dir(cls, out_dir: str | Path) -> "TrainOutputs":
        out_dir = Path(out_dir)
        return cls(out_dir / "checkpoint.pt", out_dir / "history.csv", out_dir / "train_info.json")


def select_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _run_epoch(model, loader, task, device, optimizer=None, scheduler=None) -> tuple[float, float]:
    """Mean loss and accuracy over ``loader``; trains when an optimizer is given."""
    training = optimizer is not None
    model.train(training)
    total_loss, seen = 0.0, 0
    with torch.set_grad_enabled(training):
        for images, targets, _ in tqdm(loader, desc="train" if training else "val", leave=False, mininterval=2):
            images, targets = images.to(device), targets.to(device)
            loss = task.loss(model, images, targets)
            if training:
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                scheduler.step()
            total_loss += float(loss.detach()) * targets.shape[0]
            seen += targets.shape[0]
    return total_loss / max(seen, 1), 0.0


def train_model(
    name: str, cfg: ModelConfig, store: str | Path, outputs: TrainOutputs, *, seed: int, split: dict[str, float], threads: int = 1
) -> TrainOutputs:
    """Train model ``name`` on the dataset store; write the checkpoint, history and provenance."""
    torch.set_num_threads(max(1, threads))
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    ds = open_dataset(store)
    task = make_task(cfg, ds)
    splits = {k: task.train_indices(ds, v) for k, v in dataset_splits(ds, split).items()}
    task.fit(ds, splits["train"])
    if splits["train"].size == 0:
        raise ValueError(f"dataset store {store}: the training split is empty")
    stats = image_stats(ds, splits["train"])
    targets = task.targets(ds)
    _, in_chans, img_size, _ = ds["image"].shape
    device = select_device()
    model = create_model(cfg.architecture, in_chans=in_chans, num_outputs=task.num_outputs(), img_size=img_size, pretrained=cfg.pretrained, **cfg.architecture_args).to(device)

    def stream(indices: np.ndarray, train: bool) -> tuple[ChunkStream, DataLoader]:
        data = ChunkStream(
            store, indices, targets, stats["mean"], stats["std"], batch_size=cfg.batch_size, shuffle=train,
            seed=seed, buffer_mb=cfg.shuffle_buffer_mb, augment=train and cfg.augment,
        )
        return data, make_loader(data, cfg.num_workers)

    train_data, train_loader = stream(splits["train"], True)
    val_split = splits["val"] if splits["val"].size else splits["train"]
    _, val_loader = stream(val_split, False)
    steps_per_epoch = max(1, -(-splits["train"].size // cfg.batch_size))
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    total = cfg.epochs * steps_per_epoch
    if cfg.scheduler == "cosine":
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total)
    else:
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _: 1.0)

    paths = outputs
    history: list[dict[str, Any]] = []
    best = (np.inf, -1)
    for epoch in tqdm(range(cfg.epochs), desc=f"train {name}", unit="epoch"):
        start = time.perf_counter()
        train_data.set_epoch(epoch)
        lr = optimizer.param_groups[0]["lr"]
        train_loss, _ = _run_epoch(model, train_loader, task, device, optimizer, scheduler)
        val_loss, val_acc = _run_epoch(model, val_loader, task, device)
        history.append({"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss, "val_accuracy": val_acc, "lr": lr, "seconds": time.perf_counter() - start})
        if val_loss < best[0]:
            best = (val_loss, epoch)
            state = {
                "architecture": cfg.architecture,
                "task": cfg.task,
                "in_chans": in_chans,
                "img_size": img_size,
                "num_outputs": task.num_outputs(),
                "architecture_args": cfg.architecture_args,
                "classes": task.classes,
                "task_state": task.state(),
                "normalisation": stats,
                "epoch": epoch,
                "model_state": model.state_dict(),
            }
            with atomic_path(paths.checkpoint) as tmp:
                torch.save(state, tmp)

    with atomic_path(paths.history) as tmp, open(tmp, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=HISTORY_FIELDS)
        writer.writeheader()
        writer.writerows(history)
    info = {
        "model": name,
        "config": json.loads(dump_json(cfg.model_dump(mode="json"))),
        "seed": seed,
        "dataset": ds.attrs["dataset"],
        "dataset_hash": ds.attrs["content_hash"],
        "classes": task.classes,
        "split_sizes": {k: int(v.size) for k, v in splits.items()},
        "normalisation": stats,
        "best_epoch": best[1],
        "device": str(device),
        "software": software_versions(("torch", "timm")),
    }
    with atomic_path(paths.info) as tmp:
        tmp.write_text(json.dumps(info, indent=2, sort_keys=True))
    return paths


def load_checkpoint(path: str | Path) -> tuple[torch.nn.Module, dict[str, Any]]:
    """Rebuild the model of a checkpoint, in eval mode, with its metadata."""
    state = torch.load(path, map_location="cpu", weights_only=False)
    model = create_model(
        state["architecture"], in_chans=state["in_chans"], num_outputs=state["num_outputs"], img_size=state["img_size"], **state.get("architecture_args", {})
    )
    model.load_state_dict(state["model_state"])
    return model.eval(), state
