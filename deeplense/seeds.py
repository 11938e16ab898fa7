"""Stable integer keys of names, for seeding: Python's ``hash()`` is salted per process, so every
random stream keyed by a name (a dataset, a class) goes through ``name_key`` instead. Shared by
the image seeds (deeplense.simulation.seeds) and the splits (deeplense.data.splits). Also the
training seed of each repeat of a model (``seeds:`` in a model's config)."""

from __future__ import annotations

import hashlib

import numpy as np


def name_key(name: str) -> int:
    """A stable 64-bit integer for a name: the first 8 bytes of its sha256, little-endian."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "little")


TRAINING_REPEAT_STREAM = name_key("training repeat")


def training_seed(seed: int, repeat: int) -> int:
    """The training seed of repeat ``repeat`` of a model (its initial weights, shuffling and
    augmentation) under the global ``seed``: repeat 0 trains with ``seed`` itself (the model as
    it always was), repeat k ≥ 1 with a 63-bit seed drawn from ``SeedSequence([seed, stream, k])``,
    so repeats differ from each other and from the global seed, the same on every machine."""
    if repeat < 0:
        raise ValueError(f"training repeat {repeat}: must be 0 (the model itself) or a positive repeat number")
    if repeat == 0:
        return seed
    state = np.random.SeedSequence([seed, TRAINING_REPEAT_STREAM, repeat]).generate_state(1, np.uint64)[0]
    return int(state) >> 1  # 63 bits: a valid seed for torch, numpy and the config hash
