"""One optimisation step on a batch: plain (AdamW, SGD, with float16 loss scaling on GPUs) or
sharpness-aware (SAM: gradient at the worst point of a small neighbourhood, two passes)."""

from __future__ import annotations

import torch
from pytorch_optimizer import SAM
from pytorch_optimizer.optimizer.utils import disable_running_stats, enable_running_stats

from deeplense.training.device import Device
from deeplense.tasks import Task


def train_step(
    model: torch.nn.Module,
    task: Task,
    optimizer: torch.optim.Optimizer,
    images: torch.Tensor,
    targets: torch.Tensor,
    device: Device,
    scaler: torch.amp.GradScaler | None = None,
) -> float:
    """Update ``model`` on one batch; returns the batch loss before the update."""
    if isinstance(optimizer, SAM):
        return _sam_step(model, task, optimizer, images, targets, device)
    optimizer.zero_grad(set_to_none=True)
    with device.autocast():
        loss = task.loss(model, images, targets)
    if scaler is not None:
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
    else:
        loss.backward()
        optimizer.step()
    return float(loss.detach())


def _sam_step(model, task, optimizer: SAM, images, targets, device: Device) -> float:
    """SAM's two passes, through ``SAM.step(closure)``. Batch-norm statistics are updated on the
    first pass only (as in the SAM paper's reference code), so the perturbed weights never leak
    into running statistics."""
    optimizer.zero_grad(set_to_none=True)
    enable_running_stats(model)
    with device.autocast():
        loss = task.loss(model, images, targets)
    loss.backward()

    def closure() -> torch.Tensor:
        disable_running_stats(model)
        with device.autocast():
            perturbed = task.loss(model, images, targets)
        perturbed.backward()
        return perturbed

    optimizer.step(closure)
    optimizer.zero_grad(set_to_none=True)
    enable_running_stats(model)
    return float(loss.detach())
