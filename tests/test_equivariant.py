"""Steerable C_N / D_N CNNs (e2cnn): outputs invariant under the group's exact pixel-grid
symmetries at both dataset sizes, training, and checkpoints that load in either mode."""

from __future__ import annotations

import pytest
import torch

from deeplense.models import create_model
from deeplense.models.equivariant import centred_pool
from tests.torch_threads import one_torch_thread  # noqa: F401 (autouse fixture)



def small(group: str, order: int, in_chans: int = 1, outputs: int = 3):
    torch.manual_seed(0)
    return create_model("equivariant_cnn", in_chans=in_chans, num_outputs=outputs, img_size=64, group=group, order=order, widths=[2, 3, 3])


def warmed_up(model, size: int, in_chans: int = 1):
    """A few training-mode passes so batch-norm statistics are not trivial, then eval mode."""
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(4, in_chans, size, size) * 2 + 1)
    return model.eval()


def transforms(group: str):
    rotations = [lambda x, k=k: torch.rot90(x, k, dims=(-2, -1)) for k in (1, 2, 3)]
    flips = [lambda x: torch.flip(x, dims=(-1,)), lambda x: torch.flip(x, dims=(-2,)), lambda x: torch.rot90(x.flip(-1), 1, dims=(-2, -1))]
    return rotations + (flips if group == "D" else [])


@pytest.mark.parametrize(("group", "order", "size"), [("C", 8, 64), ("D", 8, 64), ("C", 4, 150), ("D", 8, 150), ("D", 4, 63)])
def test_logits_invariant_under_exact_grid_symmetries(group, order, size):
    model = warmed_up(small(group, order, in_chans=2), size, in_chans=2)
    x = torch.randn(2, 2, size, size)
    with torch.no_grad():
        reference = model(x)
        scale = reference.abs().max()
        for transform in transforms(group):
            torch.testing.assert_close(model(transform(x)), reference, rtol=0, atol=1e-5 * float(scale))
        # not trivially invariant: different images give different logits
        assert (model(torch.randn(2, 2, size, size)) - reference).abs().max() > 1e-3 * scale


def test_c8_is_not_flip_invariant():
    """The cyclic group has no reflections: a flip changes the logits (the test above can fail)."""
    model = warmed_up(small("C", 8), 64)
    x = torch.randn(2, 1, 64, 64)
    with torch.no_grad():
        assert (model(torch.flip(x, dims=(-1,))) - model(x)).abs().max() > 1e-4 * model(x).abs().max()


def test_centred_pooling_commutes_with_rotation():
    for size in (64, 75, 38, 19):
        x = torch.randn(1, 1, size, size)
        torch.testing.assert_close(centred_pool(torch.rot90(x, 1, (-2, -1))), torch.rot90(centred_pool(x), 1, (-2, -1)))


def test_trains_and_checkpoint_loads_in_either_mode(tmp_path):
    model = small("D", 4)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    x, y = torch.randn(4, 1, 32, 32), torch.tensor([0, 1, 2, 0])
    losses = []
    for _ in range(8):
        loss = torch.nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    model.eval()
    state = model.state_dict()
    assert not any(key.endswith((".filter", ".expanded_bias")) for key in state)
    torch.save(state, tmp_path / "eq.pth")
    fresh = small("D", 4)  # training mode, other weights
    fresh.load_state_dict(torch.load(tmp_path / "eq.pth"))
    with torch.no_grad():
        torch.testing.assert_close(fresh.eval()(x), model(x))
    loaded_in_eval = small("D", 4).eval()
    loaded_in_eval.load_state_dict(state)  # the cached eval filters are rebuilt from the new weights
    with torch.no_grad():
        torch.testing.assert_close(loaded_in_eval(x), model(x))


def test_bad_group_is_named():
    with pytest.raises(ValueError, match="group must be 'C' or 'D', not 'SO2'"):
        create_model("equivariant_cnn", in_chans=1, num_outputs=2, img_size=64, group="SO2")
