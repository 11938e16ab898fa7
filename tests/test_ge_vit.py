"""The group-equivariant ViT: logits invariant (1e-5, float64) under 90° rotations, and flips for
p4m; feature maps equivariant (a group element rotates the maps and permutes the group axis); the
patch grid stays centred at 64 and 150 px and when padding is needed."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deeplense.models import create_model
from deeplense.models.arguments import ArchitectureArgumentError
from deeplense.models.ge_vit import relative_index
from deeplense.models.group_actions import PixelGroup
from tests.torch_threads import one_torch_thread  # noqa: F401 (autouse fixture)


def small(group: str, size: int, **args):
    torch.manual_seed(0)
    model = create_model("ge_vit", in_chans=2, num_outputs=3, img_size=size, group=group, dim=8, depth=2, heads=2, **args)
    return model.double().eval()


@pytest.mark.parametrize(("group", "size", "args"), [("p4", 64, {}), ("p4m", 64, {}), ("p4m", 150, {}), ("p4", 150, {"patch_size": 8})])
def test_logits_invariant_and_features_equivariant(group, size, args):
    model = small(group, size, **args)
    g = model.group
    x = torch.randn(1, 2, size, size, dtype=torch.float64)
    with torch.no_grad():
        logits, maps = model(x), model.feature_maps(x)
        for r in range(g.order):
            turned = g.act(x, r)
            torch.testing.assert_close(model(turned), logits, rtol=0, atol=1e-5)
            # f'(x, h) = f(r⁻¹x, r⁻¹h): maps rotated by r, group axis permuted by r⁻¹
            expected = torch.stack([g.act(maps[:, g.table[g.inverse[r], h]], r) for h in range(g.order)], dim=1)
            torch.testing.assert_close(model.feature_maps(turned), expected, rtol=0, atol=1e-5)
        assert (model(torch.randn_like(x)) - logits).abs().max() > 1e-4  # not constant


def test_p4_is_not_flip_invariant():
    model = small("p4", 64)
    x = torch.randn(1, 2, 64, 64, dtype=torch.float64)
    with torch.no_grad():
        assert (model(torch.flip(x, dims=(-1,))) - model(x)).abs().max() > 1e-4


def test_patch_sizes_and_padding():
    """At most 10 tokens a side by default (64 → patch 8, 150 → patch 15); patch 8 at 150 px pads
    equally to 152; a patch needing unequal padding is refused."""
    assert small("p4", 64).side == 8 and small("p4", 150).side == 10
    padded = small("p4", 150, patch_size=8)
    assert (padded.side, padded.pad) == (19, 2)
    with pytest.raises(ArchitectureArgumentError, match="patch_size=9 is not allowed"):
        create_model("ge_vit", in_chans=1, num_outputs=2, img_size=150, patch_size=9)  # 153 px: 3 to pad
    with pytest.raises(ArchitectureArgumentError, match="group='p6' is not allowed; allowed: p4, p4m"):
        create_model("ge_vit", in_chans=1, num_outputs=2, img_size=64, group="p6")


def test_relative_encoding_is_read_in_each_elements_frame():
    """The encoding index of (g, x; h, y) equals that of (e, g⁻¹x; g⁻¹h, g⁻¹y): the same relative
    position and element seen from g's frame."""
    g, side = PixelGroup.named("p4m"), 3
    index = relative_index(g, side).reshape(g.order, side * side, g.order, side * side)
    positions = np.arange(side * side).reshape(side, side)
    for a in range(g.order):
        inv = int(g.inverse[a])
        moved = g.act_numpy(positions, inv)  # moved[p] = positions[a·p]: where each position goes under a⁻¹
        where = np.empty(side * side, dtype=int)
        where[moved.ravel()] = np.arange(side * side)  # where[x] = the position a⁻¹x
        for h in range(g.order):
            assert np.array_equal(index[a, :, h, :], index[0][np.ix_(where, [g.table[inv, h]], where)][:, 0, :])
