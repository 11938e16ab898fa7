"""The XResNet hybrid: fastai's structure (stem, ResNet-D shortcut, zero-γ, Mish, self-attention),
regression training, local weights for a registered architecture."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from deeplense.models import create_model
from deeplense.models.xresnet import ResBlock, SimpleSelfAttention
from tests.torch_threads import one_torch_thread  # noqa: F401 (autouse fixture)



def test_structure_follows_fastai():
    model = create_model("xresnet18_hybrid", in_chans=1, num_outputs=1, img_size=64)
    stem = [model[i] for i in range(3)]
    assert [(s[0].in_channels, s[0].out_channels, s[0].stride[0]) for s in stem] == [(1, 32, 2), (32, 32, 1), (32, 64, 1)]
    blocks = [m for m in model.modules() if isinstance(m, ResBlock)]
    assert len(blocks) == 8
    assert all(b.convpath[1][1].weight.abs().sum() == 0 for b in blocks)  # zero-γ last norm
    down = blocks[2].idpath  # first block of stage 2: ResNet-D shortcut
    assert isinstance(down[0], nn.AvgPool2d) and down[1][0].kernel_size == (1, 1)
    attention = [m for m in model.modules() if isinstance(m, SimpleSelfAttention)]
    assert len(attention) == 1 and attention[0] is blocks[1].convpath[-1]  # last block of stage 1
    assert any(isinstance(m, nn.Mish) for m in model.modules())
    assert not any(isinstance(m, nn.ReLU) for m in model.modules())


@pytest.mark.parametrize(("name", "blocks"), [("xresnet34_hybrid", 16), ("xresnet50_hybrid", 16)])
def test_deeper_variants_at_both_sizes(name, blocks):
    model = create_model(name, in_chans=1, num_outputs=1, img_size=150, widen=0.25).eval()
    assert sum(isinstance(m, ResBlock) for m in model.modules()) == blocks
    with torch.no_grad():
        assert model(torch.randn(1, 1, 150, 150)).shape == (1, 1)
        assert model(torch.randn(1, 1, 64, 64)).shape == (1, 1)


def test_self_attention_matches_its_formula_and_is_symmetric_when_asked():
    torch.manual_seed(0)
    sa = SimpleSelfAttention(4, sym=True)
    with torch.no_grad():
        sa.gamma.fill_(0.5)
    x = torch.randn(2, 4, 3, 3)
    flat = x.flatten(2)
    w = sa.conv.weight.squeeze(-1)
    w = (w + w.t()) / 2
    expected = 0.5 * flat @ flat.transpose(1, 2) @ (w @ flat) + flat
    torch.testing.assert_close(sa(x), expected.view_as(x))


def test_regression_loss_decreases():
    torch.manual_seed(0)
    model = create_model("xresnet18_hybrid", in_chans=1, num_outputs=1, img_size=32, widen=0.25)
    x = torch.randn(8, 1, 32, 32)
    y = x.mean(dim=(1, 2, 3)).unsqueeze(1) * 10
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(25):
        loss = nn.functional.mse_loss(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.2 * losses[0]


def test_unknown_argument_names_the_allowed_ones():
    with pytest.raises(TypeError, match=r"'xresnet18_hybrid' does not take argument 'width'; allowed: dropout, sa, sym, widen"):
        create_model("xresnet18_hybrid", in_chans=1, num_outputs=1, img_size=64, width=2)


def test_local_weights_for_a_registered_architecture(tmp_path):
    """Same shapes load exactly; a 3-channel stem is summed to 1 channel (timm's rule); the head of
    another output size keeps its fresh initialisation, with a warning naming it."""
    torch.manual_seed(0)
    source = create_model("xresnet18_hybrid", in_chans=3, num_outputs=5, img_size=64, widen=0.25)
    path = tmp_path / "xresnet.pth"
    torch.save({"model_state": source.state_dict(), "epoch": 3}, path)  # a deeplense checkpoint
    with pytest.warns(UserWarning, match=r"keep their fresh initialisation.*11\.weight"):
        model = create_model("xresnet18_hybrid", in_chans=1, num_outputs=1, img_size=64, widen=0.25, pretrained=path)
    theirs = source.state_dict()
    torch.testing.assert_close(model[0][0].weight, theirs["0.0.weight"].sum(dim=1, keepdim=True))
    for key, value in model.state_dict().items():
        if not key.startswith(("0.0.", "11.")):
            assert torch.equal(value, theirs[key]), key
    torch.save(create_model("resnet18", in_chans=1, num_outputs=1, img_size=64).state_dict(), path)
    with pytest.raises(ValueError, match="do not fit architecture 'xresnet18_hybrid'"):
        create_model("xresnet18_hybrid", in_chans=1, num_outputs=1, img_size=64, pretrained=path)
