"""Random streams keyed by (global seed, dataset, class, index in class), never by shard or worker,
so the same config gives the same images however the work is split."""

from __future__ import annotations

import numpy as np

from deeplense.seeds import name_key

# Independent streams of one image: adding draws to one never shifts another.
STREAMS = ("lens", "source", "substructure", "instrument", "noise")


def image_seed(global_seed: int, dataset: str, class_name: str, index: int) -> int:
    """The 64-bit seed of one image, stored in its record so it can be regenerated alone."""
    ss = np.random.SeedSequence([global_seed, name_key(dataset), name_key(class_name), index])
    return int(ss.generate_state(1, dtype=np.uint64)[0])


def image_streams(seed: int) -> dict[str, np.random.Generator]:
    """Named generators for one image, all derived from its seed."""
    children = np.random.SeedSequence(seed).spawn(len(STREAMS))
    return {name: np.random.default_rng(child) for name, child in zip(STREAMS, children)}
