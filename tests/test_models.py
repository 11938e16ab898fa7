"""The architecture registry: timm by name, registered deeplense models, local pretrained weights."""

import pytest
import timm
import torch
import torch.nn as nn

from deeplense.models import ARCHITECTURES, create_model, register_architecture
from deeplense.models.registry import architecture_exists


@pytest.mark.parametrize(("name", "size"), [("resnet18", 32), ("vit_tiny_patch16_224", 32)])
def test_timm_models_take_channels_outputs_and_size(name, size):
    model = create_model(name, in_chans=1, num_outputs=3, img_size=size)
    out = model(torch.randn(2, 1, size, size))
    assert out.shape == (2, 3)


def test_registered_architecture_takes_precedence():
    @register_architecture("test_linear_probe")
    def linear(in_chans, num_outputs, img_size, pretrained=None):
        return nn.Sequential(nn.Flatten(), nn.Linear(in_chans * img_size * img_size, num_outputs))

    try:
        assert architecture_exists("test_linear_probe")
        assert create_model("test_linear_probe", in_chans=2, num_outputs=4, img_size=8)(torch.randn(3, 2, 8, 8)).shape == (3, 4)
    finally:
        ARCHITECTURES._items.pop("test_linear_probe")


def test_unknown_architecture_and_missing_weights():
    with pytest.raises(KeyError, match="unknown architecture 'resnet9000'"):
        create_model("resnet9000", in_chans=1, num_outputs=2, img_size=32)
    with pytest.raises(FileNotFoundError, match="no hub downloads"):
        create_model("resnet18", in_chans=1, num_outputs=2, img_size=32, pretrained="/nonexistent.pth")


def test_fine_tune_from_local_rgb_weights(tmp_path):
    """Weights of a 3-channel ImageNet-style model load into a 1-channel model (timm sums the
    first convolution over input channels); the backbone weights are really the file's."""
    source = timm.create_model("resnet18", num_classes=1000)
    path = tmp_path / "resnet18_rgb.pth"
    torch.save(source.state_dict(), path)
    model = create_model("resnet18", in_chans=1, num_outputs=3, img_size=32, pretrained=path)
    assert torch.equal(model.layer1[0].conv1.weight, source.layer1[0].conv1.weight)
    torch.testing.assert_close(model.conv1.weight, source.conv1.weight.sum(dim=1, keepdim=True))
    assert model.fc.out_features == 3
