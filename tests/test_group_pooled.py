"""Group pooling: any backbone averaged over the C4 or D4 orbit of its input gives logits invariant
to every element of the group (to 1e-5, float64), for timm and deeplense-registered backbones."""

from __future__ import annotations

import pytest
import torch

from deeplense.models import create_model
from deeplense.models.arguments import ArchitectureArgumentError
from deeplense.models.group_actions import PixelGroup
from tests.torch_threads import one_torch_thread  # noqa: F401 (autouse fixture)

BACKBONES = [  # (name, its arguments): a timm model, two registered ones
    ("resnet18", {}),
    ("xresnet18_hybrid", {"widen": 0.25}),
    ("ge_vit", {"group": "p4", "dim": 8, "depth": 1, "heads": 2}),
]


@pytest.mark.parametrize(("backbone", "args"), BACKBONES)
@pytest.mark.parametrize("group", ["C4", "D4"])
def test_logits_invariant_under_every_group_element(backbone, args, group):
    torch.manual_seed(0)
    model = create_model("group_pooled", in_chans=2, num_outputs=3, img_size=32, backbone=backbone, backbone_args=args, group=group)
    model = model.double().eval()
    x = torch.randn(2, 2, 32, 32, dtype=torch.float64)
    g = PixelGroup.named(group)
    with torch.no_grad():
        reference = model(x)
        for element in range(g.order):
            torch.testing.assert_close(model(g.act(x, element)), reference, rtol=0, atol=1e-5)
        assert (model(torch.randn_like(x)) - reference).abs().max() > 1e-4  # not constant


def test_c4_is_not_flip_invariant():
    """Only the group's elements are pooled: a flip changes C4 logits (the test above can fail)."""
    torch.manual_seed(0)
    model = create_model("group_pooled", in_chans=1, num_outputs=3, img_size=32, group="C4").double().eval()
    x = torch.randn(2, 1, 32, 32, dtype=torch.float64)
    with torch.no_grad():
        assert (model(torch.flip(x, dims=(-1,))) - model(x)).abs().max() > 1e-4


def test_group_multiplication_table_matches_the_tensor_operations():
    g = PixelGroup.named("D4")
    x = torch.randn(1, 5, 5)
    for a in range(8):
        assert torch.equal(g.act(g.act(x, int(g.inverse[a])), a), x)
        for b in range(8):
            assert torch.equal(g.act(g.act(x, b), a), g.act(x, int(g.table[a, b])))


def test_unknown_group_is_refused_naming_the_allowed_ones():
    with pytest.raises(ArchitectureArgumentError, match="group='C8' is not allowed; allowed: C4, D4"):
        create_model("group_pooled", in_chans=1, num_outputs=2, img_size=32, group="C8")
