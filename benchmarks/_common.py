"""Helpers shared by the benchmarks: one-core pinning, timing, real images and store building."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np

__all__ = ["PHASES", "PhaseTimer", "bench_config", "bench_provenance", "cpu_description", "emit", "pin_to_one_core",
           "rate", "real_images", "reset_peak_rss", "rss_mb", "Timer", "write_tiled_store"]


def pin_to_one_core() -> None:
    """Measure 'per core': this process, Blosc, Zarr and torch each use one CPU."""
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    import numcodecs
    import torch
    import zarr

    numcodecs.blosc.set_nthreads(1)
    zarr.config.set({"threading.max_workers": 1})
    torch.set_num_threads(1)


def rate(n: int, seconds: float) -> float:
    return n / seconds if seconds > 0 else float("inf")


class Timer:
    def __enter__(self) -> "Timer":
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self.start


def bench_config(n_per_class: int, num_pix: int, seed: int = 0):
    """The experiment config of the benchmark dataset ``bench``: the three skeleton classes
    (no_sub, cdm, vortex), ``n_per_class`` images each, the default instrument at ``num_pix``."""
    from deeplense.experiment import load_config

    return load_config(
        {
            "seed": seed,
            "datasets": {
                "bench": {
                    "instrument": {"num_pix": num_pix},
                    "classes": [
                        {"name": "no_sub", "scenario": "no_sub", "n_images": n_per_class},
                        {"name": "cdm", "scenario": "cdm", "n_images": n_per_class},
                        {"name": "vortex", "scenario": "vortex", "n_images": n_per_class},
                    ],
                }
            },
        }
    )


def real_images(n_per_class: int, num_pix: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Real lenstronomy images of the three skeleton classes (no_sub, cdm, vortex) and labels."""
    from deeplense.simulation.shards import simulate_shard

    cfg = bench_config(n_per_class, num_pix, seed)
    ds = cfg.datasets["bench"]
    images, labels = [], []
    for label, cls in enumerate(ds.classes):
        images.append(simulate_shard(seed, ds, cls, range(n_per_class), progress=False).images)
        labels.append(np.full(n_per_class, label))
    return np.concatenate(images), np.concatenate(labels)


def bench_provenance(n_per_class: int, num_pix: int, seed: int = 0) -> dict:
    """The store attributes ``write_tiled_store`` leaves out and readers that check a store's
    provenance need (``deeplense predict``: the instrument's pixel scale): the config of the
    ``bench`` dataset (``n_per_class`` images a class, nominally) and the software versions."""
    from deeplense.storage.provenance import software_versions

    config = bench_config(n_per_class, num_pix, seed).datasets["bench"].model_dump(mode="json")
    return {"config": config, "software": software_versions()}


def cpu_description(threads: int | None = None) -> dict:
    """The CPU a benchmark ran on, to record beside its figures (a throughput means little without
    it, bfloat16's above all): ``deeplense.training.device.cpu_description`` (model name, vector and
    bfloat16 flags, torch's kernel level, bfloat16 native or not) and the torch thread count."""
    import torch

    from deeplense.training.device import cpu_description as describe

    return {**describe(), "threads": threads if threads is not None else torch.get_num_threads()}


def write_tiled_store(path: Path, base: np.ndarray, labels: np.ndarray, n: int, codec: str = "blosc_zstd",
                      attrs: dict | None = None) -> Path:
    """A dataset store of ``n`` images, the ``base`` real images repeated (reading cost does not
    depend on content beyond compressibility, which repeats of real images keep), written lazily
    chunk by chunk with the same layout and codec as the workflow's stores. ``attrs`` are added to
    (or replace) its attributes, e.g. ``bench_provenance(...)`` for a store readers accept as
    complete."""
    import dask.array as da
    import xarray as xr

    from deeplense.config import StorageSettings
    from deeplense.storage.dataset_store import FORMAT_VERSION, RECORD_CHUNK, image_encoding, store_layout
    from deeplense.storage.shard_store import write_zarr

    if path.exists():
        return path
    storage = StorageSettings(codec=codec)
    layout = store_layout(n, base.shape[1:], storage)
    step = layout.shard_images or layout.chunk_images
    reps = -(-n // base.shape[0])
    index = np.arange(n) % base.shape[0]
    block = da.from_array(base, chunks=(base.shape[0], *base.shape[1:]))
    images = da.concatenate([block] * reps)[:n].rechunk((step, *base.shape[1:]))
    ds = xr.Dataset(
        {
            "image": (("sample", "band", "y", "x"), images),
            "label": ("sample", labels[index].astype(np.int16)),
            "index_in_class": ("sample", np.arange(n)),
        }
    ).chunk({"sample": RECORD_CHUNK})
    # The images keep their own chunks, not the records' single chunk: that would hold them all in memory.
    ds["image"] = ("sample", "band", "y", "x"), images
    ds.attrs = {"format_version": FORMAT_VERSION, "dataset": "bench", "classes": ["no_sub", "cdm", "vortex"], "seed": 0, "content_hash": "benchmark"} | (attrs or {})
    write_zarr(ds, path, {"image": image_encoding(layout, base.shape[1:], storage)})
    return path


def rss_mb() -> tuple[float, float]:
    """(current, peak) resident memory of this process in MiB, from /proc."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def reset_peak_rss() -> None:
    Path("/proc/self/clear_refs").write_text("5")


def emit(result: dict) -> None:
    """The benchmark's last line: one JSON object with its figures."""
    print(json.dumps(result, sort_keys=True))


# ---- per-phase CPU time of deeplense's simulate_image ------------------------------------------
PHASES = ("population", "halo_parameters", "ray_tracing", "light_psf_noise")


class PhaseTimer:
    """While active (``with timer:``), wraps the package functions of each simulation phase with
    CPU-time counters: the scenario's ``draw`` (population, which contains the halo parameters),
    the fast path's halo-parameter steps, and the tracer (set-up and rays). ``split(total)``
    returns the last image's seconds per phase; the rest of ``total`` is light, PSF and noise."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._saved: list[tuple[object, str, object]] = []

    def _wrap(self, owner: object, name: str, phase: str) -> None:
        original = getattr(owner, name)

        def timed(*args, **kwargs):
            start = time.process_time()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[phase] = self.seconds.get(phase, 0.0) + time.process_time() - start

        self._saved.append((owner, name, original))
        setattr(owner, name, timed)

    def __enter__(self) -> "PhaseTimer":
        from deeplense.physics import pyhalo_adapter
        from deeplense.physics.halos import population, sidm
        from deeplense.physics.scenarios import SCENARIOS
        from deeplense.simulation.raytracing.tracer import LensTracer

        self.seconds = {}
        for cls in {SCENARIOS.get(name) for name in SCENARIOS.names()}:
            if "draw" in vars(cls):
                self._wrap(cls, "draw", "draw")
        self._wrap(population, "lens_components", "halo_parameters")
        self._wrap(sidm, "add_core_collapsed_halos", "halo_parameters")
        self._wrap(pyhalo_adapter, "_components", "halo_parameters")
        self._wrap(LensTracer, "__init__", "ray_tracing")
        self._wrap(LensTracer, "ray_shooting", "ray_tracing")
        return self

    def __exit__(self, *exc) -> None:
        for owner, name, original in reversed(self._saved):
            setattr(owner, name, original)
        self._saved = []

    def split(self, total: float) -> dict[str, float]:
        s = self.seconds
        out = {"population": s.get("draw", 0.0) - s.get("halo_parameters", 0.0),
               "halo_parameters": s.get("halo_parameters", 0.0), "ray_tracing": s.get("ray_tracing", 0.0)}
        out["light_psf_noise"] = total - sum(out.values())
        return out
