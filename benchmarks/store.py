"""Store benchmark: seconds per image of ``combine_shards`` (the workflow's `store` rule: validate
the shards, hash the images, write the dataset store) at N and 4N images, so its scaling shows as
one ratio; beside it, at the same sizes, the content hash computed through one all-images Dask
chunk, the way the store used to chunk its images, whose time grows as N². All side by side in
one run, on one core; ends with one JSON line.

    python benchmarks/store.py           # full: 1,500 and 6,000 images of 150×150
    python benchmarks/store.py --quick   # under a minute: 300 and 1,200 images

The shards hold real lenstronomy images (three skeleton classes), repeated: storing costs the same
per image whatever the content, beyond its compressibility, which repeats of real images keep.
``per_image_4n_vs_n``: seconds per image at 4N over seconds per image at N, 1 for linear time,
4 for quadratic.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Timer, bench_config, emit, pin_to_one_core, real_images  # noqa: E402

SHARD = 400  # images per shard, as the reproduction configs
NUM_PIX = 150
BASE_PER_CLASS = 20  # real images a class, repeated into the shards


def write_class_shards(root: Path, name: str, base: np.ndarray, n: int):
    """``n`` images of class ``name`` in shards of ``SHARD``, the ``base`` images repeated."""
    from deeplense.storage.dataset_store import ClassShards
    from deeplense.storage.shard_store import ShardResult, write_shard

    paths = []
    for shard, start in enumerate(range(0, n, SHARD)):
        index = np.arange(start, min(start + SHARD, n))
        result = ShardResult(base[index % len(base)], index, index.astype(np.uint64), {"snr": np.ones(index.size)})
        path = root / name / f"{shard:04d}.zarr"
        write_shard(result, path, name, {"snr": {"units": "1"}})
        paths.append(path)
    return ClassShards(name, n, paths)


def store_seconds(root: Path, images: np.ndarray, labels: np.ndarray, n_per_class: int) -> float:
    """Wall time of ``combine_shards`` over three classes of ``n_per_class`` images."""
    from deeplense.config import StorageSettings
    from deeplense.storage.dataset_store import combine_shards

    names = ["no_sub", "cdm", "vortex"]
    classes = [write_class_shards(root / "shards", name, images[labels == i], n_per_class) for i, name in enumerate(names)]
    config = bench_config(n_per_class, NUM_PIX).datasets["bench"].model_dump(mode="json")
    with Timer() as t:
        combine_shards(classes, root / "dataset.zarr", dataset_name="bench", dataset_config=config, seed=0,
                       image_shape=images.shape[1:], storage=StorageSettings())
    return t.seconds


def merged_chunk_hash_seconds(store: Path) -> float:
    """The content hash of the store's images read through one all-images chunk, rechunked to the
    store's chunks: each block it reads rebuilds the whole chunk (the old store layout)."""
    import xarray as xr

    from deeplense.storage.dataset_store import RECORD_CHUNK, content_hash

    image = xr.open_zarr(store)["image"]
    merged = image.chunk({"sample": RECORD_CHUNK}).chunk({"sample": image.chunks[0][0]})
    with Timer() as t:
        content_hash(merged)
    return t.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="300 and 1,200 images: under a minute")
    args = parser.parse_args()
    pin_to_one_core()
    n = 100 if args.quick else 500  # per class; then 4n
    images, labels = real_images(BASE_PER_CLASS, NUM_PIX)
    result: dict = {"benchmark": "store", "quick": args.quick, "image_size": NUM_PIX, "shard_images": SHARD}
    per_image = {}
    for size in (n, 4 * n):
        with tempfile.TemporaryDirectory() as tmp:
            store_s = store_seconds(Path(tmp), images, labels, size)
            merged_s = merged_chunk_hash_seconds(Path(tmp) / "dataset.zarr")
        total = 3 * size
        per_image[size] = (store_s / total, merged_s / total)
        result[f"images_{total}"] = {"store_s": round(store_s, 2), "merged_chunk_hash_s": round(merged_s, 2)}
        print(f"{total} images: store {store_s:.1f} s; hash through one merged chunk {merged_s:.1f} s", flush=True)
    result["per_image_4n_vs_n"] = round(per_image[4 * n][0] / per_image[n][0], 2)
    result["merged_chunk_hash_per_image_4n_vs_n"] = round(per_image[4 * n][1] / per_image[n][1], 2)
    emit(result)


if __name__ == "__main__":
    main()
