"""Any architecture ``create_model`` knows, as a feature extractor: pooled feature vectors instead
of outputs, for models that put their own head on a backbone (fusion, group pooling).

timm backbones give pooled features with ``num_classes=0`` (sized to the image as in
:mod:`deeplense.models.timm_zoo`); deeplense-registered ones lose their last ``nn.Linear`` (their
pooled features, for the equivariant CNN invariant ones, remain).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn

from deeplense.models.registry import ARCHITECTURES, create_model


def strip_head(model: nn.Module) -> nn.Module:
    """Replace the last ``nn.Linear`` of a registered architecture by the identity."""
    name = next((n for n, m in reversed(list(model.named_modules())) if isinstance(m, nn.Linear)), None)
    if name is None:
        raise ValueError(f"backbone {type(model).__name__} has no linear head to remove")
    parent, _, leaf = name.rpartition(".")
    setattr(model.get_submodule(parent) if parent else model, leaf, nn.Identity())
    return model


def backbone_features(name: str, in_chans: int, img_size: int, **architecture_args: Any) -> nn.Module:
    """Backbone ``name`` returning pooled feature vectors instead of outputs."""
    if name in ARCHITECTURES:
        return strip_head(create_model(name, in_chans=in_chans, num_outputs=1, img_size=img_size, **architecture_args))
    return create_model(name, in_chans=in_chans, num_outputs=0, img_size=img_size, **architecture_args)


def feature_size(extractor: nn.Module, in_chans: int, img_size: int) -> int:
    """Length of the feature vector of ``extractor``, read from one pass of a blank image (works for
    every backbone kind, and on torch's meta device)."""
    was_training = extractor.training
    extractor.eval()
    with torch.no_grad():
        f = extractor(torch.zeros(1, in_chans, img_size, img_size))
    extractor.train(was_training)
    return int(f.shape[1])
