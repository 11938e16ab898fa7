"""Optimisers and schedules on a tiny network: SAM's two passes, schedules over a whole run."""

import pytest
import torch
import torch.nn as nn

from deeplense.config import ModelConfig
from deeplense.training.device import select_device
from deeplense.training.optim import build_optimizer, build_schedule
from deeplense.training.steps import train_step
from deeplense.tasks import Classification


def _tiny() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))


def _cfg(**kw) -> ModelConfig:
    return ModelConfig(architecture="resnet18", dataset="d", **kw)


def test_sam_updates_batchnorm_statistics_once_and_descends():
    model, task = _tiny(), Classification(["a", "b"])
    x = torch.randn(16, 1, 8, 8) + torch.linspace(-1, 1, 16)[:, None, None, None]
    y = (x.mean(dim=(1, 2, 3)) > 0).long()  # learnable: the sign of the mean brightness
    opt = build_optimizer(_cfg(optimizer="sam", lr=0.1), model.parameters())
    bn = model[1]
    reference = _tiny()[1]
    with torch.no_grad():
        reference.train()(model[0](x))  # one update of the running mean from the unperturbed weights
    losses = [train_step(model, task, opt, x, y, select_device("cpu")) for _ in range(1)]
    torch.testing.assert_close(bn.running_mean, reference.running_mean)
    torch.testing.assert_close(bn.running_var, reference.running_var)
    assert bn.momentum == pytest.approx(0.1)  # restored after the second pass
    losses += [train_step(model, task, opt, x, y, select_device("cpu")) for _ in range(30)]
    assert losses[-1] < 0.7 * losses[0]


@pytest.mark.parametrize("name", ["cosine", "onecycle", "cyclic", "constant"])
def test_per_batch_schedules_run_a_whole_training(name):
    model = _tiny()
    cfg = _cfg(scheduler=name, lr=0.1, epochs=3, optimizer="sgd")
    opt = build_optimizer(cfg, model.parameters())
    schedule = build_schedule(cfg, opt, steps_per_epoch=5, maximise=False)
    lrs = []
    for _ in range(3 * 5 + 2):  # a couple of extra batches (partial batches of workers) never fail
        opt.step()
        lrs.append(opt.param_groups[0]["lr"])
        schedule.batch_end()
    assert max(lrs) <= 0.1 + 1e-12
    if name == "constant":
        assert set(lrs) == {0.1}
    elif name == "cyclic":
        assert min(lrs) == pytest.approx(0.01)
    else:
        assert lrs[-1] < 0.01  # annealed


def test_plateau_halves_the_rate_when_the_monitor_stalls():
    model = _tiny()
    cfg = _cfg(scheduler="plateau", lr=0.1, monitor="val_auc")
    opt = build_optimizer(cfg, model.parameters())
    schedule = build_schedule(cfg, opt, steps_per_epoch=5, maximise=True)
    for auc in [0.6, 0.7, 0.7, 0.69, 0.68]:
        schedule.batch_end()  # no effect per batch
        schedule.epoch_end(auc)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.05)
