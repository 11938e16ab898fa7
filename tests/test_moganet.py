"""MogaNet at the published sizes (Li et al., ICLR 2024, 1000 classes: X-Tiny 2.97 M, Tiny 5.20 M
parameters), with its multi-order depthwise convolutions split 1:3:4 with dilations 1, 2, 3."""

from __future__ import annotations

import pytest
import torch

from deeplense.models import create_model
from deeplense.models.arguments import ArchitectureArgumentError
from deeplense.models.moganet import MogaBlock
from tests.torch_threads import one_torch_thread  # noqa: F401 (autouse fixture)


@pytest.mark.parametrize(("name", "millions", "blocks"), [("moganet_xtiny", 2.97, 18), ("moganet_tiny", 5.20, 20)])
def test_published_parameter_counts(name, millions, blocks):
    with torch.device("meta"):  # shapes only: no memory, no initialisation cost
        model = create_model(name, in_chans=3, num_outputs=1000, img_size=224)
    count = sum(p.numel() for p in model.parameters()) / 1e6
    assert abs(count - millions) / millions < 0.01, count  # measured 2.956 and 5.197
    assert sum(isinstance(m, MogaBlock) for m in model.modules()) == blocks


def test_multi_order_value_and_sizes_by_argument():
    model = create_model("moganet", in_chans=1, num_outputs=2, img_size=64, size="tiny")
    value = model.stages[2][1].attn.value  # a stage-3 block, 128 channels
    assert (value.dw0.in_channels, value.dw1.in_channels, value.dw2.in_channels) == (128, 48, 64)
    assert (value.dw0.dilation, value.dw1.dilation, value.dw2.dilation) == ((1, 1), (2, 2), (3, 3))
    assert value.dw2.kernel_size == (7, 7)
    with pytest.raises(ArchitectureArgumentError, match="size='small' is not allowed; allowed: xtiny, tiny"):
        create_model("moganet", in_chans=1, num_outputs=2, img_size=64, size="small")
