"""Equivariant Transformer layers: rotating an image adds the rotation angle to the predicted pose,
the canonicalised image and hence the logits barely change, every transform family runs and
trains, and bad arguments are refused naming the argument."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from deeplense.models import create_model
from deeplense.models.arguments import ArchitectureArgumentError
from deeplense.models.canonical_coordinates import CANONICAL_COORDINATES
from tests.torch_threads import one_torch_thread  # noqa: F401 (autouse fixture)

ANGLES = (0.3, 1.0, 2.0, -2.5)
POSE_TOLERANCE_DEG = 1.0  # canonical grid of 32 angles (11.25° apart): the read-out interpolates well below one step


def rotated_image(size: int, alpha: float) -> torch.Tensor:
    """A smooth, centred, anisotropic image (an elongated Gaussian and an off-centre blob, so no
    rotation but the identity maps it to itself), rotated by ``alpha`` exactly: evaluated at the
    rotated pixel centres I(R(−α)p), with R the rotation family's own matrix convention."""
    centres = (2 * torch.arange(size, dtype=torch.float64) + 1) / size - 1
    y, x = torch.meshgrid(centres, centres, indexing="ij")
    c, s = math.cos(-alpha), math.sin(-alpha)
    xr, yr = c * x - s * y, s * x + c * y
    image = torch.exp(-(xr**2 / 0.45**2 + yr**2 / 0.15**2)) + 0.7 * torch.exp(-((xr - 0.35) ** 2 + (yr - 0.15) ** 2) / 0.12**2)
    return image[None, None].float()


def wrap(angle: float) -> float:
    return (angle + math.pi) % (2 * math.pi) - math.pi


@pytest.mark.parametrize("size", [64, 150])
def test_rotating_the_input_shifts_the_predicted_angle_and_keeps_the_logits(size):
    """The pose moves with the rotation within 1°; the logits of the rotated image change at most
    10 % as much as those of the same backbone without the layer (measured: 0.1–5 %)."""
    torch.manual_seed(0)
    model = create_model("equivariant_transformer", in_chans=1, num_outputs=3, img_size=size, transforms=["rotation"], backbone="resnet18").eval()
    upright = rotated_image(size, 0.0)
    with torch.no_grad():
        pose = model.poses(upright)[0][0][0, 0].item()
        logits, backbone_logits = model(upright), model.backbone(upright)
        for alpha in ANGLES:
            turned = rotated_image(size, alpha)
            assert math.degrees(abs(wrap(model.poses(turned)[0][0][0, 0].item() - pose - alpha))) < POSE_TOLERANCE_DEG, alpha
            backbone_change = (model.backbone(turned) - backbone_logits).abs().max()
            assert backbone_change > 0  # the backbone alone is not invariant
            torch.testing.assert_close(model(turned), logits, rtol=0, atol=0.1 * float(backbone_change))


def test_poses_compose_into_one_resampling():
    """With rotation then scale, the scale layer sees the image rotated by the first pose, and the
    final matrix is the product of both transforms."""
    torch.manual_seed(0)
    model = create_model("equivariant_transformer", in_chans=1, num_outputs=2, img_size=64, transforms=["rotation", "scale"]).eval()
    x = rotated_image(64, 0.7)
    with torch.no_grad():
        (angle, log_scale), matrix = model.poses(x)
        c, s, k = math.cos(angle.item()), math.sin(angle.item()), math.exp(log_scale.item())
        torch.testing.assert_close(matrix[0, :2, :2], torch.tensor([[c * k, -s * k], [s * k, c * k]]), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("family", CANONICAL_COORDINATES.names())
def test_every_family_trains_with_three_bands(family):
    torch.manual_seed(0)
    model = create_model("equivariant_transformer", in_chans=3, num_outputs=2, img_size=32, transforms=[family],
                         backbone="resnet18", pose_channels=4, pose_layers=1, canonical_size=16)  # fmt: skip
    loss = F.cross_entropy(model(torch.randn(2, 3, 32, 32)), torch.tensor([0, 1]))
    loss.backward()
    conv = model.layers[0].body[1]
    assert torch.isfinite(loss) and conv.weight.grad.abs().sum() > 0  # the pose network learns through the resampling


@pytest.mark.parametrize(("args", "message"), [
    ({"transforms": ["rotate"]}, "transforms='rotate' is not allowed; allowed: hyperbolic, perspective, rotation, rotation_scale, scale, shear"),
    ({"transforms": "rotation"}, "allowed: a non-empty list of"),
    ({"pose_layers": 0}, "pose_layers=0 is not allowed; allowed: an integer ≥ 1"),
])  # fmt: skip
def test_bad_arguments_name_the_argument(args, message):
    with pytest.raises(ArchitectureArgumentError, match=message):
        create_model("equivariant_transformer", in_chans=1, num_outputs=2, img_size=32, **args)
