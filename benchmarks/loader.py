"""Loader benchmark: random-order epoch throughput on one core, memory over a store
larger than the buffer, and resnet18 training-step overhead of the loader. All side by side in
one run; ends with one JSON line.

    python benchmarks/loader.py           # full: GB-scale stores (several minutes)
    python benchmarks/loader.py --quick   # under a minute
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Timer, emit, pin_to_one_core, rate, real_images, reset_peak_rss, rss_mb, write_tiled_store  # noqa: E402

BATCH = 64


REPEATS = 3  # fast readers: best of three epochs, so a noisy neighbour does not decide the ratio


def best_rate(epoch, n: int) -> float:
    return max(rate(n, epoch()) for _ in range(REPEATS))


def deeplense_epoch(store: Path, n: int, buffer_mb: float) -> float:
    """deeplense's loader: whole chunks, shuffled blocks, batches gathered and normalised."""
    from deeplense.data.torch_loader import ChunkStream, make_loader

    labels = np.zeros(n, dtype=np.int64)
    stream = ChunkStream(store, np.arange(n), labels, [0.0], [1.0], batch_size=BATCH, shuffle=True, buffer_mb=buffer_mb)

    def epoch() -> float:
        stream.set_epoch(stream.epoch + 1)
        with Timer() as t:
            seen = sum(int(b[0].shape[0]) for b in make_loader(stream))
        assert seen == n
        return t.seconds

    return best_rate(epoch, n)


class MapStyle:
    """The usual PyTorch code: a map-style Dataset read one image at a time by index, normalised
    per item (as torchvision's Normalize would), so it yields what deeplense's loader yields."""

    def __init__(self, source, labels, mean: float = 0.0, std: float = 1.0):
        self.source, self.labels = source, labels
        self.mean, self.inv_std = np.float32(mean), np.float32(1.0 / std)

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        import torch

        image = np.array(self.source[i], dtype=np.float32)
        image -= self.mean
        image *= self.inv_std
        return torch.from_numpy(image), int(self.labels[i])


def map_style_epoch(source, n: int, limit: int | None = None) -> float:
    """Random-order batches through DataLoader(shuffle=True) over ``source`` (``limit`` images)."""
    import torch
    from torch.utils.data import DataLoader, Subset

    data = MapStyle(source, np.zeros(n, dtype=np.int64))
    if limit is not None and limit < n:
        data = Subset(data, np.random.default_rng(0).choice(n, limit, replace=False).tolist())
    loader = DataLoader(data, batch_size=BATCH, shuffle=True, generator=torch.Generator().manual_seed(0))

    def epoch() -> float:
        with Timer() as t:
            sum(int(x.shape[0]) for x, _ in loader)
        return t.seconds

    return rate(len(data), epoch()) if limit is not None else best_rate(epoch, len(data))


def gather_epoch(array: np.ndarray, n: int) -> float:
    """Lower bound: vectorised random batches straight from an array (no Dataset, no collate)."""
    import torch

    perm = np.random.default_rng(0).permutation(n)

    def epoch() -> float:
        with Timer() as t:
            for i in range(0, n, BATCH):
                torch.from_numpy(np.ascontiguousarray(array[np.sort(perm[i : i + BATCH])]))
        return t.seconds

    return best_rate(epoch, n)


def codec_sweep(tmp: Path, quick: bool, base: np.ndarray, labels: np.ndarray) -> dict:
    """Loader throughput and compression ratio per codec. The benchmark stores repeat a few hundred
    real images, which Zarr's own zstd (long window) partly deduplicates: its ratio here overstates
    real datasets (≈1.07 on non-repeating noisy images); Blosc codecs work per block and are
    unaffected."""
    from deeplense.storage.inspect import disk_usage

    n = 3_200 if quick else 12_800
    out = {}
    for codec in ("blosc_zstd", "zstd", "blosc_lz4", "none"):
        store = write_tiled_store(tmp / f"codec_{codec}.zarr", base, labels, n, codec=codec)
        size, _ = disk_usage(store / "image")
        out[codec] = {"img_per_s": round(deeplense_epoch(store, n, 64)), "compression_ratio": round(n * 64 * 64 * 4 / size, 2)}
    return out


def throughput(tmp: Path, quick: bool, base: np.ndarray, labels: np.ndarray) -> dict:
    import zarr

    n = 12_800 if quick else 64_000
    store = write_tiled_store(tmp / "throughput.zarr", base, labels, n)
    image = zarr.open_array(store / "image", mode="r")
    in_memory = image[:]
    raw = tmp / "images.npy"
    np.save(raw, in_memory)
    memmap = np.load(raw, mmap_mode="r")
    results = {
        "images": n,
        "deeplense_loader": deeplense_epoch(store, n, buffer_mb=64 if quick else 256),
        "naive_zarr_indexing": map_style_epoch(image, n, limit=200 if quick else 2_000),
        "in_memory_dataloader": map_style_epoch(in_memory, n),
        "memmap_dataloader": map_style_epoch(memmap, n),
        "in_memory_gather": gather_epoch(in_memory, n),
        "memmap_gather": gather_epoch(memmap, n),
    }
    return {k: (round(v) if isinstance(v, float) else v) for k, v in results.items()}


MEMORY_CHILD = r"""
import sys, json, numpy as np
sys.path.insert(0, sys.argv[4])
from _common import pin_to_one_core, rss_mb, reset_peak_rss
pin_to_one_core()
import timm
from deeplense.data.torch_loader import ChunkStream, make_loader
store, n, buffer_mb = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
model = timm.create_model("resnet18", in_chans=1, num_classes=3)
stream = ChunkStream(store, np.arange(n), np.zeros(n, dtype=np.int64), [0.0], [1.0], batch_size=64, shuffle=True, buffer_mb=buffer_mb)
before, _ = rss_mb()
reset_peak_rss()
seen = sum(int(b[0].shape[0]) for b in make_loader(stream))
_, peak = rss_mb()
print(json.dumps({"seen": seen, "rss_before_mb": before, "peak_rss_mb": peak}))
"""


def memory(tmp: Path, quick: bool, base: np.ndarray, labels: np.ndarray) -> dict:
    """Peak RSS of one shuffled epoch, in a fresh process, over a store ≥ 4× the buffer."""
    n = 16_384 if quick else 200_000
    buffer_mb = 32.0 if quick else 256.0
    store = write_tiled_store(tmp / "memory.zarr", base, labels, n)
    store_mb = n * 64 * 64 * 4 / 2**20
    out = subprocess.run(
        [sys.executable, "-c", MEMORY_CHILD, str(store), str(n), str(buffer_mb), str(Path(__file__).resolve().parent)],
        capture_output=True, text=True, check=True,
    )
    child = __import__("json").loads(out.stdout.strip().splitlines()[-1])
    assert child["seen"] == n
    growth = child["peak_rss_mb"] - child["rss_before_mb"]
    return {
        "store_mb": round(store_mb),
        "buffer_mb": buffer_mb,
        "store_over_buffer": round(store_mb / buffer_mb, 1),
        "rss_before_epoch_mb": round(child["rss_before_mb"]),
        "peak_rss_mb": round(child["peak_rss_mb"]),
        "peak_growth_over_model_mb": round(growth),
        "within_budget": growth <= buffer_mb,
    }


def training_overhead(tmp: Path, quick: bool, base: np.ndarray, labels: np.ndarray) -> dict:
    """resnet18 steps fed by the loader vs the same steps on tensors already in memory."""
    import timm
    import torch

    from deeplense.data.torch_loader import ChunkStream, make_loader

    steps = 3 if quick else 30
    n = steps * BATCH
    store = write_tiled_store(tmp / "train.zarr", base, labels, max(n, base.shape[0]))
    torch.manual_seed(0)
    model = timm.create_model("resnet18", in_chans=1, num_classes=3)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step(x, y):
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

    x0 = torch.randn(BATCH, 1, 64, 64)
    y0 = torch.zeros(BATCH, dtype=torch.long)
    step(x0, y0)  # warm-up
    memory_batches = [(x0.clone(), y0.clone()) for _ in range(steps)]
    with Timer() as t_mem:
        for x, y in memory_batches:
            step(x, y)
    stream = ChunkStream(store, np.arange(n), np.zeros(max(n, base.shape[0]), dtype=np.int64), [0.0], [1.0], batch_size=BATCH, shuffle=True, augment=True)
    wait = 0.0
    with Timer() as t_loader:
        it = iter(make_loader(stream))
        for _ in range(steps):
            with Timer() as t_next:
                x, y, _ = next(it)
            wait += t_next.seconds
            step(x, y.long())
    return {
        "steps": steps,
        "step_s_in_memory": round(t_mem.seconds / steps, 4),
        "step_s_with_loader": round(t_loader.seconds / steps, 4),
        "data_wait_fraction": round(wait / t_loader.seconds, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small stores, under a minute")
    args = parser.parse_args()
    pin_to_one_core()
    base, labels = real_images(32 if args.quick else 256, 64)  # real lenstronomy images, tiled
    with tempfile.TemporaryDirectory(prefix="deeplense-bench-") as tmp:
        tmp = Path(tmp)
        tput = throughput(tmp, args.quick, base, labels)
        codecs = codec_sweep(tmp, args.quick, base, labels)
        mem = memory(tmp, args.quick, base, labels)
        train = training_overhead(tmp, args.quick, base, labels)
    result = {
        "benchmark": "loader",
        "quick": args.quick,
        "throughput_img_per_s": tput,
        "loader_vs_naive_zarr": round(tput["deeplense_loader"] / tput["naive_zarr_indexing"], 1),
        "loader_vs_in_memory_dataloader": round(tput["deeplense_loader"] / tput["in_memory_dataloader"], 2),
        "loader_vs_in_memory_gather": round(tput["deeplense_loader"] / tput["in_memory_gather"], 2),
        "codecs": codecs,
        "memory": mem,
        "training": train,
    }
    for key, value in tput.items():
        if key != "images":
            print(f"{key:>24}: {value:>9,} img/s")
    emit(result)


if __name__ == "__main__":
    main()
