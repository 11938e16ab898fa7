"""timm's zoo by name at the datasets' image sizes: every family the DeepLense literature used builds
and takes a training step; local pretrained weights; clear errors for bad arguments."""

from __future__ import annotations

import socket

import pytest
import timm
import torch
import torch.nn.functional as F

from deeplense.models import create_model
from deeplense.models.timm_zoo import ResizeInput, patch_size_for, size_arguments
from tests.torch_threads import one_torch_thread  # noqa: F401 (autouse fixture)

# The smallest member of each family. timm has no CvT: deeplense registers CvT-13 (``cvt13``);
# CoaT-Lite (convolutional position encodings) and LeViT (convolutional stem and downsampling
# attention) are timm's closest convolutional transformers.
FAMILIES = [
    "resnet18", "resnet34", "resnet50", "resnext26ts", "densenet121", "vgg16", "inception_v3",
    "inception_resnet_v2", "efficientnet_b0", "efficientnet_b1", "efficientnet_b2", "resnetv2_50x1_bit",
    "nfnet_l0", "vit_tiny_patch16_224", "deit_tiny_patch16_224", "convit_tiny",
    "swin_tiny_patch4_window7_224", "coatnet_nano_rw_224", "volo_d1_224", "coat_lite_tiny", "levit_128s", "cvt13",
]  # fmt: skip
VIT_STYLE = [
    "vit_tiny_patch16_224", "deit_tiny_patch16_224", "convit_tiny", "swin_tiny_patch4_window7_224",
    "coatnet_nano_rw_224", "volo_d1_224", "coat_lite_tiny", "levit_128s", "cvt13",
]  # fmt: skip



def training_step(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """One SGD step on cross-entropy; asserts the loss is finite and the first and last weights moved."""
    params = [p for p in model.parameters() if p.requires_grad]
    first, last = params[0].detach().clone(), params[-1].detach().clone()
    optimizer = torch.optim.SGD(params, lr=0.1)
    model.train()
    loss = F.cross_entropy(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    assert torch.isfinite(loss)
    assert not torch.equal(first, params[0]) and not torch.equal(last, params[-1])
    return loss.item()


@pytest.mark.parametrize("name", FAMILIES)
def test_family_trains_at_64(name):
    torch.manual_seed(0)
    in_chans = 3 if name == "efficientnet_b0" else 1
    model = create_model(name, in_chans=in_chans, num_outputs=3, img_size=64)
    training_step(model, torch.randn(2, in_chans, 64, 64), torch.tensor([0, 2]))


# deeplense's equivariant and invariant architectures and MogaNet, small where an argument allows.
INVARIANT_AND_MOGANET = {
    "equivariant_transformer": {"transforms": ["rotation", "scale"], "backbone": "resnet18", "canonical_size": 16, "pose_channels": 4},
    "group_pooled": {"backbone": "resnet18", "group": "D4"},
    "ge_vit": {"group": "p4m", "dim": 16, "depth": 1, "heads": 2},
    "moganet_xtiny": {},
    "moganet_tiny": {},
}


@pytest.mark.parametrize("name", INVARIANT_AND_MOGANET)
@pytest.mark.parametrize("in_chans", [1, 3])
@pytest.mark.parametrize("size", [64, 150])
def test_invariant_architectures_and_moganet_train(name, size, in_chans):
    torch.manual_seed(0)
    model = create_model(name, in_chans=in_chans, num_outputs=3, img_size=size, **INVARIANT_AND_MOGANET[name])
    training_step(model, torch.randn(2, in_chans, size, size), torch.tensor([0, 2]))


BAD_ARGUMENTS = {  # one value or name each architecture refuses, and what the refusal says
    "equivariant_transformer": ({"transforms": ["spin"]}, "transforms='spin' is not allowed; allowed: hyperbolic,"),
    "group_pooled": ({"group": "C8"}, "group='C8' is not allowed; allowed: C4, D4"),
    "ge_vit": ({"group": "p6"}, "group='p6' is not allowed; allowed: p4, p4m"),
    "moganet_xtiny": ({"size": "tiny"}, "does not take argument 'size'; allowed: drop_path, dropout"),
    "moganet_tiny": ({"depth": 3}, "does not take argument 'depth'"),
}


@pytest.mark.parametrize("name", INVARIANT_AND_MOGANET)
def test_config_check_builds_them_and_refuses_bad_arguments(name, tmp_path, monkeypatch):
    """The config's build check (torch's meta device) accepts each at 150 px with three bands, and
    blames architecture_args for a bad one, naming it."""
    from deeplense.config import ModelConfig
    from deeplense.experiment.architectures import build_problem

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    classes = ["no_sub", "cdm", "vortex"]
    good = ModelConfig(architecture=name, architecture_args=INVARIANT_AND_MOGANET[name], dataset="d")
    assert build_problem(good, classes, 3, 150) is None
    args, message = BAD_ARGUMENTS[name]
    field, why = build_problem(ModelConfig(architecture=name, architecture_args=args, dataset="d"), classes, 3, 150)
    assert field == "architecture_args" and f"cannot build {name}" in why and message in why


@pytest.mark.parametrize("name", [*VIT_STYLE, "resnet18", "inception_v3"])
def test_family_runs_at_150(name):
    model = create_model(name, in_chans=1, num_outputs=3, img_size=150).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 1, 150, 150)).shape == (1, 3)


def test_size_choices_are_explicit():
    """64 → patch 8 (8×8 tokens), 150 → patch 10 (15×15), 224 → timm's 16; Swin's windows; resizing."""
    assert [patch_size_for(s) for s in (64, 150, 224)] == [8, 10, 16]
    assert size_arguments("vit_tiny_patch16_224", 150) == ({"img_size": 150, "patch_size": 10}, None)
    assert size_arguments("swin_tiny_patch4_window7_224", 64) == ({"img_size": 64, "patch_size": 4, "window_size": 8}, None)
    assert size_arguments("coatnet_nano_rw_224", 150) == ({"img_size": 160}, 160)
    assert size_arguments("inception_v3", 64) == ({}, 75)
    assert size_arguments("resnet18", 150) == ({"img_size": 150}, None)
    model = create_model("coatnet_nano_rw_224", in_chans=1, num_outputs=2, img_size=150)
    assert isinstance(model, ResizeInput) and model.size == 160


def test_architecture_args_override_the_automatic_choice():
    model = create_model("vit_tiny_patch16_224", in_chans=1, num_outputs=2, img_size=64, patch_size=4, depth=2)
    assert model.patch_embed.proj.kernel_size == (4, 4) and len(model.blocks) == 2
    assert model(torch.randn(1, 1, 64, 64)).shape == (1, 2)


def test_unknown_timm_argument_names_architecture_and_allowed():
    with pytest.raises(TypeError, match=r"'resnet18' \(timm\) does not take argument 'patchsize'; allowed: .*drop_rate"):
        create_model("resnet18", in_chans=1, num_outputs=2, img_size=64, patchsize=4)


@pytest.fixture
def offline(monkeypatch):
    """No hub: HF offline mode, and any socket connection fails the test."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    def refuse(*args, **kwargs):
        raise AssertionError("a network connection was attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)


def test_local_pretrained_weights_adapt_to_one_channel(tmp_path, offline):
    source = timm.create_model("resnet18", num_classes=1000)
    path = tmp_path / "rgb.pth"
    torch.save(source.state_dict(), path)
    model = create_model("resnet18", in_chans=1, num_outputs=3, img_size=64, pretrained=str(path))
    torch.testing.assert_close(model.conv1.weight, source.conv1.weight.sum(dim=1, keepdim=True))
    theirs = source.state_dict()
    for key, value in model.state_dict().items():
        if not key.startswith(("conv1.", "fc.")):
            assert torch.equal(value, theirs[key]), key
    assert model.fc.out_features == 3
    with pytest.raises(FileNotFoundError, match="no hub downloads"):
        create_model("resnet18", in_chans=1, num_outputs=3, img_size=64, pretrained=tmp_path / "missing.pth")


def test_cvt13_has_the_published_size_and_convolutional_attention():
    """CvT-13 has 20.0 M parameters (Wu et al. 2021, ImageNet head); keys and values are strided
    depthwise convolutions, and only the last stage carries the class token."""
    model = create_model("cvt13", in_chans=3, num_outputs=1000, img_size=224)
    assert round(sum(p.numel() for p in model.parameters()) / 1e6, 1) == 20.0
    attention = model.stages[0][0].attn
    assert attention.conv_k[0].stride == (2, 2) and attention.conv_q[0].stride == (1, 1) and attention.conv_k[0].groups == 64
    assert [blocks[0].attn.with_cls for blocks in model.stages] == [False, False, True]


def test_catalog_lists_timm_and_registered_names_and_caches_them(tmp_path, monkeypatch):
    from deeplense.experiment import architectures as catalog

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    names = catalog.architecture_names()
    registered = {"xresnet18_hybrid", "xresnet34_hybrid", "xresnet50_hybrid", "equivariant_cnn", "fusion", "conv_ae", "vae", "aae", "cvt13",
                  "equivariant_transformer", "group_pooled", "ge_vit", "moganet", "moganet_xtiny", "moganet_tiny"}
    assert registered | {"resnet18", "vit_tiny_patch16_224"} <= names
    assert catalog.cache_path().parent == tmp_path / "deeplense" and catalog.cache_path().is_file()
    assert catalog.architecture_names() == names
