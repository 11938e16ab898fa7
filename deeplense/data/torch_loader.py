"""The torch boundary: stream whole Zarr chunks into a bounded shuffle buffer.

Random per-image reads of compressed chunks are slow (each decompresses a whole chunk), so the
loader reads chunks whole, shuffles chunk order per epoch, and shuffles images within a buffer
of at most ``buffer_images`` images. Memory stays bounded whatever the dataset size. Dask runs
synchronously inside the loader, so DataLoader workers never inherit a thread pool.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dask
import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from deeplense.storage.dataset_store import open_dataset


def d4_transform(image: np.ndarray, k: int) -> np.ndarray:
    """One of the 8 symmetries of the square (k in 0..7): rotation by k%4 × 90°, flipped if k ≥ 4."""
    out = np.rot90(image, k % 4, axes=(-2, -1))
    if k >= 4:
        out = out[..., ::-1]
    return np.ascontiguousarray(out)


class ChunkStream(IterableDataset):
    """Yields ``(image, target, sample)`` for the samples ``indices`` of a dataset store.

    ``shuffle``: chunk order and a bounded buffer, deterministic for (seed, epoch). Without it,
    samples come in store order (evaluation). Images are normalised with ``mean``/``std`` per band.
    """

    def __init__(
        self,
        store: str | Path,
        indices: np.ndarray,
        targets: np.ndarray,
        mean: list[float],
        std: list[float],
        *,
        shuffle: bool,
        seed: int = 0,
        buffer_images: int = 2048,
        augment: bool = False,
    ) -> None:
        self.store = str(store)
        self.indices = np.sort(np.asarray(indices, dtype=np.int64))
        self.targets = np.asarray(targets)
        self.mean = np.asarray(mean, dtype=np.float32)[:, None, None]
        self.std = np.asarray(std, dtype=np.float32)[:, None, None]
        self.shuffle = shuffle
        self.seed = seed
        self.buffer_images = max(1, buffer_images)
        self.augment = augment
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Reshuffle differently (and reproducibly) for each epoch."""
        self.epoch = epoch

    def __len__(self) -> int:
        return int(self.indices.size)

    def _chunks(self, chunk_sizes: tuple[int, ...]) -> list[tuple[int, np.ndarray]]:
        """(chunk number, selected sample indices in it) for chunks holding any selected sample."""
        bounds = np.concatenate([[0], np.cumsum(chunk_sizes)])
        which = np.searchsorted(bounds, self.indices, side="right") - 1
        return [(int(c), self.indices[which == c]) for c in np.unique(which)]

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor, int]]:
        ds = open_dataset(self.store)
        image = ds["image"].data  # dask array, one block per Zarr chunk
        chunks = self._chunks(image.chunks[0])
        worker = get_worker_info()
        if worker is not None:  # each worker streams its own subset of chunks
            chunks = chunks[worker.id :: worker.num_workers]
        rng = np.random.default_rng([self.seed, self.epoch, worker.id if worker else 0])
        if self.shuffle:
            chunks = [chunks[i] for i in rng.permutation(len(chunks))]
        starts = np.concatenate([[0], np.cumsum(image.chunks[0])])
        buffer: list[tuple[np.ndarray, int]] = []
        for chunk, wanted in chunks:
            with dask.config.set(scheduler="synchronous"):
                block = np.asarray(image.blocks[chunk].compute())
            for sample in wanted:
                buffer.append((block[sample - starts[chunk]], int(sample)))
                if self.shuffle and len(buffer) >= self.buffer_images:
                    yield self._item(buffer.pop(int(rng.integers(len(buffer)))), rng)
            if not self.shuffle:
                while buffer:
                    yield self._item(buffer.pop(0), rng)
        while buffer:
            yield self._item(buffer.pop(int(rng.integers(len(buffer)))), rng)

    def _item(self, entry: tuple[np.ndarray, int], rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor, int]:
        img, sample = entry
        img = (img - self.mean) / self.std
        if self.augment:
            img = d4_transform(img, int(rng.integers(8)))
        return torch.from_numpy(np.ascontiguousarray(img, dtype=np.float32)), torch.as_tensor(self.targets[sample]), sample
