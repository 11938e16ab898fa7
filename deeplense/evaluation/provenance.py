"""The hash that names a model's configuration in metrics, captions and checkpoints."""

from __future__ import annotations

import hashlib
from typing import Any

from deeplense.config import dump_json


def model_config_hash(model_config: dict[str, Any], seed: int, split: dict[str, float]) -> str:
    """sha256 of everything besides the data that determines a model's trained weights: its
    config, the seed and the split fractions (the formula of ``deeplense.training.trainer``'s
    checkpoints, computed here without importing torch, e.g. for report captions)."""
    return "sha256:" + hashlib.sha256(dump_json({"model": model_config, "seed": seed, "split": split}).encode()).hexdigest()
