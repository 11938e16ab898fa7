"""The learning-rate range test (Smith 2017, fastai's ``lr_find``): train from the initial weights
while the learning rate grows exponentially, record the smoothed loss, stop when it diverges, and
suggest the rate where it falls fastest. A curve that never falls clearly (by ``MIN_DROP`` of its
starting value before it diverges) gets no suggestion: its steepest point would be noise.

Written here rather than with torch-lr-finder: that package drives a ``(model, criterion)`` pair,
while deeplense's tasks compute their loss from the model itself (autoencoder objectives, the
Gaussian NLL of a mean and a variance head), and SAM needs its own two-pass step.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from deeplense.config import ModelConfig
from deeplense.data.torch_loader import make_loader
from deeplense.plots.style import figure, save
from deeplense.atomic import atomic_path
from deeplense.training.optim import build_optimizer
from deeplense.training.steps import train_step
from deeplense.training.trainer import prepare


# The smoothed loss must fall by this fraction of its starting value for a suggestion.
MIN_DROP = 0.1


@dataclass(frozen=True)
class LRRange:
    """Learning rates tried, the smoothed loss at each, and the suggested peak learning rate
    (None when the loss shows no clear descent)."""

    lrs: np.ndarray
    losses: np.ndarray
    suggestion: float | None

    def summary(self) -> str:
        if self.suggestion is None:
            low, high = float(np.nanmin(self.losses)), float(self.losses[0])
            return (
                f"no clear descent: the smoothed loss fell from {high:.4g} to at most {low:.4g} "
                f"(less than {MIN_DROP:.0%}) between lr {self.lrs[0]:.2g} and {self.lrs[-1]:.2g}; no suggestion "
                "(try a wider range, more steps, or check that the model can learn this data)"
            )
        return f"suggested peak learning rate {self.suggestion:.3g} (steepest descent)"


# The first steps are left out of the suggestion: the bias-corrected running mean of a few
# batches still moves with each batch's loss, at learning rates too small to change a weight
# (fastai's range test skips its first points likewise).
SKIP_START = 0.1
# Half-width (points) of the moving average applied to the slope before its minimum is taken.
SLOPE_WINDOW = 2


def suggest_lr(lrs: np.ndarray, losses: np.ndarray) -> float | None:
    """The learning rate where the smoothed loss falls fastest (steepest negative slope in log lr,
    averaged over a few neighbouring points) between the first tenth of the steps and the loss's
    minimum, or None when it never falls by ``MIN_DROP`` of its starting value."""
    if lrs.size < 3 or not losses.min() < (1 - MIN_DROP) * losses[0]:
        return None
    start, stop = int(SKIP_START * lrs.size), int(np.argmin(losses)) + 1
    if stop - start < 3:
        start = 0
    slope = np.gradient(losses[start:stop], np.log(lrs[start:stop]))
    width = min(2 * SLOPE_WINDOW + 1, slope.size)
    averaged = np.convolve(slope, np.ones(width) / width, mode="same")
    return float(lrs[start + int(np.argmin(averaged))])


def lr_range_test(
    cfg: ModelConfig,
    store: str | Path,
    *,
    seed: int,
    split: dict[str, float],
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    steps: int = 100,
    smoothing: float = 0.98,
    diverge: float = 4.0,
) -> LRRange:
    """Run the range test for model config ``cfg`` on the training split of ``store``."""
    if not 0 < start_lr < end_lr:
        raise ValueError(f"lr range: start_lr ({start_lr}) must be positive and below end_lr ({end_lr})")
    setup = prepare(cfg, store, seed=seed, split=split)
    model, task, dev = setup.model, setup.task, setup.device
    data = setup.stream(setup.splits["train"], train=True)
    optimizer = build_optimizer(cfg.model_copy(update={"lr": start_lr}), model.parameters())
    factor = (end_lr / start_lr) ** (1.0 / max(1, steps - 1))
    def batches():  # epochs one after another, as many as the test needs
        epoch = 0
        while True:
            data.set_epoch(epoch)
            yield from make_loader(data)
            epoch += 1

    lrs, losses, avg, best = [], [], 0.0, np.inf
    model.train()
    for images, targets, _ in batches():
        lr = start_lr * factor ** len(lrs)
        for group in optimizer.param_groups:
            group["lr"] = lr
        loss = train_step(model, task, optimizer, dev.batch(images), targets.to(dev.device), dev)
        avg = smoothing * avg + (1 - smoothing) * loss
        smoothed = avg / (1 - smoothing ** (len(lrs) + 1))  # bias correction of the running mean
        lrs.append(lr)
        losses.append(smoothed)
        best = min(best, smoothed)
        if not np.isfinite(smoothed) or smoothed > diverge * best or len(lrs) >= steps:
            break
    lrs_a, losses_a = np.asarray(lrs), np.asarray(losses)
    keep = np.isfinite(losses_a)
    return LRRange(lrs_a, losses_a, suggest_lr(lrs_a[keep], losses_a[keep]))


def write_lr_range(result: LRRange, png: str | Path, csv: str | Path, title: str) -> None:
    """The loss-vs-learning-rate plot (log axis, suggestion marked) and its table."""
    fig, ax = figure(figsize=(6, 4))
    ax.plot(result.lrs, result.losses, color="#0072B2")
    if result.suggestion is not None:
        ax.axvline(result.suggestion, color="#D55E00", linestyle="--", label=f"steepest descent: {result.suggestion:.2g}")
        ax.legend()
    else:
        ax.text(0.5, 0.95, "no clear descent: no suggestion", transform=ax.transAxes, ha="center", va="top", color="#D55E00")
    ax.set(xscale="log", xlabel="learning rate", ylabel="training loss (smoothed)", title=title)
    save(fig, png)
    with atomic_path(csv) as tmp:
        pd.DataFrame({"lr": result.lrs, "loss": result.losses}).to_csv(tmp, index=False)
