"""Optimisers (AdamW, SGD, SAM) and learning-rate schedules (cosine, one-cycle, cyclic,
reduce-on-plateau, constant) built from a ModelConfig.

SAM is pytorch_optimizer's maintained implementation (Foret et al. 2021) around SGD with momentum;
its two forward/backward passes per step are driven by ``training.steps``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from pytorch_optimizer import SAM

from deeplense.config import ModelConfig


def build_optimizer(cfg: ModelConfig, params: Any) -> torch.optim.Optimizer:
    """The optimiser ``cfg.optimizer`` names, at the peak learning rate ``cfg.lr``."""
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay, nesterov=cfg.momentum > 0)
    if cfg.optimizer == "sam":
        return SAM(params, torch.optim.SGD, rho=cfg.sam_rho, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    raise ValueError(f"optimizer {cfg.optimizer!r} unknown; allowed: adamw, sgd, sam")


@dataclass
class Schedule:
    """A learning-rate schedule and when it steps: after every batch, or after every epoch on the
    monitored validation figure (reduce-on-plateau)."""

    scheduler: Any
    per_batch: bool
    total_steps: int | None = None

    def batch_end(self) -> None:
        if self.per_batch and (self.total_steps is None or self.scheduler.last_epoch < self.total_steps):
            self.scheduler.step()

    def epoch_end(self, monitored: float) -> None:
        if not self.per_batch:
            self.scheduler.step(monitored)


def build_schedule(cfg: ModelConfig, optimizer: torch.optim.Optimizer, steps_per_epoch: int, maximise: bool) -> Schedule:
    """The schedule ``cfg.scheduler`` names over ``cfg.epochs × steps_per_epoch`` batches."""
    total = max(1, cfg.epochs * steps_per_epoch)
    lr_sched = torch.optim.lr_scheduler
    if cfg.scheduler == "cosine":
        return Schedule(lr_sched.CosineAnnealingLR(optimizer, T_max=total), per_batch=True, total_steps=total)
    if cfg.scheduler == "onecycle":
        # one-cycle cycles momentum only where the optimiser has one it can set
        return Schedule(
            lr_sched.OneCycleLR(optimizer, max_lr=cfg.lr, total_steps=total, cycle_momentum=cfg.optimizer != "adamw"),
            per_batch=True,
            total_steps=total - 1,
        )
    if cfg.scheduler == "cyclic":
        # triangular cycles between lr/10 and lr, two epochs up and two down
        return Schedule(
            lr_sched.CyclicLR(
                optimizer, base_lr=cfg.lr / 10, max_lr=cfg.lr, step_size_up=max(1, 2 * steps_per_epoch), cycle_momentum=False
            ),
            per_batch=True,
        )
    if cfg.scheduler == "plateau":
        return Schedule(lr_sched.ReduceLROnPlateau(optimizer, mode="max" if maximise else "min", factor=0.5, patience=2), per_batch=False)
    if cfg.scheduler == "constant":
        return Schedule(lr_sched.LambdaLR(optimizer, lambda _: 1.0), per_batch=True)
    raise ValueError(f"scheduler {cfg.scheduler!r} unknown; allowed: cosine, onecycle, cyclic, plateau, constant")
