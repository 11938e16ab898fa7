"""Train/validation/test splits fixed by (seed, class, index in class): identical on every machine,
never overlapping, stratified by class, independent of shard size and worker count."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from deeplense.config import SPLITS, split_sizes
from deeplense.seeds import name_key

if TYPE_CHECKING:
    import xarray as xr

_SPLIT_STREAM = 0x5EED_5B17


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser, vectorised: a well-mixed 64-bit hash of each integer. Written here
    because numpy has no vectorised integer hash and per-sample SeedSequences are slow at 10⁶."""
    with np.errstate(over="ignore"):
        z = x.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def split_keys(seed: int, class_name: str, index_in_class: np.ndarray) -> np.ndarray:
    """A pseudo-random 64-bit key per sample, from the seed, its class and its index only."""
    with np.errstate(over="ignore"):
        base = _splitmix64(np.array([seed ^ _SPLIT_STREAM], dtype=np.uint64))[0] ^ np.uint64(name_key(class_name))
        return _splitmix64(np.asarray(index_in_class, dtype=np.uint64) ^ base)


def assign_splits(
    labels: np.ndarray, index_in_class: np.ndarray, classes: list[str], seed: int, fractions: dict[str, float]
) -> np.ndarray:
    """Split name per sample. Within each class, samples ranked by their key fill train, val, test
    in the configured proportions; a class of 3+ images gets at least one image in each split."""
    out = np.empty(labels.shape[0], dtype=object)
    for label, name in enumerate(classes):
        where = np.flatnonzero(labels == label)
        order = where[np.argsort(split_keys(seed, name, index_in_class[where]), kind="stable")]
        sizes = split_sizes(order.size, fractions)
        n_train, n_val = sizes["train"], sizes["val"]
        out[order[:n_train]] = "train"
        out[order[n_train : n_train + n_val]] = "val"
        out[order[n_train + n_val :]] = "test"
    return out


def dataset_splits(ds: xr.Dataset, fractions: dict[str, float]) -> dict[str, np.ndarray]:
    """Sorted sample indices of each split of a dataset store."""
    labels = ds["label"].values
    names = assign_splits(labels, ds["index_in_class"].values, list(ds.attrs["classes"]), int(ds.attrs["seed"]), fractions)
    return {s: np.flatnonzero(names == s) for s in SPLITS}


def first_per_class(indices: np.ndarray, labels: np.ndarray, n: int) -> np.ndarray:
    """The first ``n`` of ``indices`` (sorted sample indices) of each label: a smaller training set
    that is a subset of every larger one, so points of a learning curve are nested."""
    indices = np.sort(np.asarray(indices))
    keep = np.zeros(indices.size, dtype=bool)
    for label in np.unique(labels[indices]):
        keep[np.flatnonzero(labels[indices] == label)[:n]] = True
    return indices[keep]
