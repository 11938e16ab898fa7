"""Random streams keyed by (global seed, class recipe, index in class), never by dataset name, shard
or worker: the same recipe gives the same images in any dataset, sweep point or shard layout.

A class's *recipe* is everything that enters the rendering of its images: the class (name,
scenario, parameters) and the dataset's shared settings (lens, source, instrument, cosmology,
redshifts, backend), but not its image count (image ``i`` is the same in a class of 100 or of
1,000) nor the dataset's name, split or other classes. Two datasets whose class has the same recipe
therefore hold the same images of it, which is what lets the workflow reuse its shards; two
different recipes draw independent images."""

from __future__ import annotations

from typing import Any

import numpy as np

from deeplense.config import ClassConfig, DatasetConfig, dump_json
from deeplense.seeds import name_key

# Independent streams of one image: adding draws to one never shifts another.
STREAMS = ("lens", "source", "substructure", "instrument", "noise")


def class_recipe(dataset: DatasetConfig, cls: ClassConfig) -> dict[str, Any]:
    """What determines the images of ``cls`` in ``dataset`` (besides the global seed and index)."""
    return {
        "dataset": dataset.model_dump(mode="json", exclude={"classes", "split"}),
        "class": cls.model_dump(mode="json", exclude={"n_images"}),
    }


def recipe_key(dataset: DatasetConfig, cls: ClassConfig) -> int:
    """A stable 64-bit key of the class's recipe (canonical JSON, hashed)."""
    return name_key(dump_json(class_recipe(dataset, cls)))


def image_seed(global_seed: int, recipe: int, index: int) -> int:
    """The 64-bit seed of image ``index`` of the class whose :func:`recipe_key` is ``recipe``;
    stored in the image's record so it can be regenerated alone."""
    ss = np.random.SeedSequence([global_seed, recipe, index])
    return int(ss.generate_state(1, dtype=np.uint64)[0])


def image_streams(seed: int) -> dict[str, np.random.Generator]:
    """Named generators for one image, all derived from its seed."""
    children = np.random.SeedSequence(seed).spawn(len(STREAMS))
    return {name: np.random.default_rng(child) for name, child in zip(STREAMS, children)}
