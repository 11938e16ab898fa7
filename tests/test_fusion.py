"""Feature fusion: several backbones or several depths of one, fused by concatenation, sum or
learned weights; every part learns from one loss."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from deeplense.models import create_model
from tests.torch_threads import one_torch_thread  # noqa: F401 (autouse fixture)



def step(model, x, y):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    loss = F.cross_entropy(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    assert torch.isfinite(loss)


def test_default_concatenates_resnet18_and_efficientnet_b0():
    torch.manual_seed(0)
    model = create_model("fusion", in_chans=1, num_outputs=3, img_size=64)
    assert model.head[1].in_features == 512 + 1280  # both backbones' pooled features
    x = torch.randn(2, 1, 64, 64)
    before = [next(e.parameters()).detach().clone() for e in model.extractors]
    step(model, x, torch.tensor([0, 2]))
    assert all(not torch.equal(b, next(e.parameters())) for b, e in zip(before, model.extractors))


@pytest.mark.parametrize("mode", ["sum", "weighted"])
def test_sum_and_weighted_project_to_a_common_width(mode):
    torch.manual_seed(0)
    model = create_model("fusion", in_chans=1, num_outputs=2, img_size=64, mode=mode, width=32,
                         backbones=["resnet18", "xresnet18_hybrid"], backbone_args={"xresnet18_hybrid": {"widen": 0.25}})  # fmt: skip
    assert [p.out_features for p in model.project] == [32, 32] and model.head[1].in_features == 32
    x = torch.randn(2, 1, 64, 64)
    features = model.features(x)
    if mode == "weighted":
        w = model.weights()
        torch.testing.assert_close(w.sum(), torch.tensor(1.0))
        with torch.no_grad():
            model.logits.copy_(torch.tensor([5.0, -5.0]))
        expected = model.head(model.weights()[0] * features[0] + model.weights()[1] * features[1])
    else:
        expected = model.head(features[0] + features[1])
    torch.testing.assert_close(model(x), expected)
    loss = model(x).square().sum()
    loss.backward()
    if mode == "weighted":
        assert model.logits.grad is not None and model.logits.grad.abs().sum() > 0


def test_several_depths_of_one_backbone():
    model = create_model("fusion", in_chans=1, num_outputs=3, img_size=64, backbones=["resnet18"], depths=[2, 3, 4])
    assert model.head[1].in_features == 128 + 256 + 512
    step(model, torch.randn(2, 1, 64, 64), torch.tensor([1, 2]))


def test_vit_and_cnn_at_150():
    model = create_model("fusion", in_chans=1, num_outputs=3, img_size=150, backbones=["vit_tiny_patch16_224", "resnet18"],
                         mode="weighted", backbone_args={"vit_tiny_patch16_224": {"depth": 2}}).eval()  # fmt: skip
    with torch.no_grad():
        assert model(torch.randn(1, 1, 150, 150)).shape == (1, 3)


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match="mode must be one of concat, sum, weighted, not 'max'"):
        create_model("fusion", in_chans=1, num_outputs=2, img_size=64, mode="max")
    with pytest.raises(ValueError, match="depths fuse levels of exactly one timm backbone"):
        create_model("fusion", in_chans=1, num_outputs=2, img_size=64, depths=[2, 3])
    with pytest.raises(ValueError, match="backbone_args names \\['vgg16'\\]"):
        create_model("fusion", in_chans=1, num_outputs=2, img_size=64, backbone_args={"vgg16": {}})
    with pytest.raises(TypeError, match="'fusion' does not take argument 'backbone'; allowed: backbone_args, backbones, depths, dropout, mode, width"):
        create_model("fusion", in_chans=1, num_outputs=2, img_size=64, backbone="resnet18")
