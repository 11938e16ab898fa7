"""``deeplense predict``: a trained model over new images, in the calling process or on Dask
distributed.

The input's rows are cut into blocks (a multiple of the batch size, by default the input's own
Zarr chunk); each block is read, predicted by the model and written into the prediction store.
On one machine (``choose_executor``) the calling process predicts the blocks on one thread per
worker with the model it has already loaded; on a cluster (a running scheduler, SLURM, or a
LocalCluster when asked for) each block is one Dask task on a worker that loads the model once. Both run the
same blocks in the same batches on one torch thread each, so they write the same bits. At most two
blocks per worker are in flight, so memory stays bounded whatever the input's size, and blocks
already written by a killed run are skipped.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from deeplense.predict import output
from deeplense.predict.cluster import ClusterError, dask_client
from deeplense.predict.geometry import GridFit
from deeplense.predict.inputs import ImageSource, StoreSource, open_input
from deeplense.predict.model import BATCH_SIZE, PREDICT_THREADS, LoadedModel, load_model, torch_threads

DEFAULT_BLOCK = 1024
IN_FLIGHT_PER_WORKER = 2
EXECUTORS = ("auto", "in_process", "cluster")
# On one machine the calling process is the faster at every size measured: benchmarks/predict.py
# on 2 idle cores (record predict_full_2026-12-07.json, MobileNetV3-small at 64×64, 1,024-image
# blocks) gave 1,867 images/s in the calling process against 1,484 on a two-worker LocalCluster at
# 100,000 images, and 1,781 against 511 at 10,000. Its threads run torch and Zarr's decompression,
# which release the GIL, while a LocalCluster pays for spawning workers that import torch and load
# the model (about 10 s before the first block came back) and for moving the blocks between
# processes. So `auto` starts no local cluster; a cluster is for more machines than this one.
_WORKER_MODELS: dict[str, LoadedModel] = {}  # per worker process: checkpoint sha256 → model


@dataclass(frozen=True)
class PredictionRun:
    """What a ``predict_to_zarr`` call did."""

    output: Path
    n_images: int
    blocks: int
    blocks_computed: int
    seconds: float
    executor: str = "in_process"  # where this call's blocks ran: "in_process" or "cluster"
    workers: int | None = 1  # the calling process's threads, or the cluster's workers (None: a running scheduler's)


def _worker_model(checkpoint: str, sha256: str) -> LoadedModel:
    """The model, loaded once per worker process; it predicts on ``PREDICT_THREADS`` torch threads,
    as ``load_model(...).predict`` does by default."""
    model = _WORKER_MODELS.get(sha256)
    if model is None:
        model = _WORKER_MODELS[sha256] = load_model(checkpoint, threads=PREDICT_THREADS)
        if model.sha256 != sha256:
            raise RuntimeError(f"{checkpoint} changed while predicting (sha256 {model.sha256}, expected {sha256})")
    return model


def predict_block(checkpoint: str, sha256: str, source: ImageSource, grid: GridFit, final: str, block: int, start: int, stop: int,
                  batch_size: int) -> int:
    """One Dask task: predict rows ``[start, stop)`` of ``source`` (cut and resampled to the model's
    grid by ``grid``) and write them as block ``block``."""
    return predict_rows(_worker_model(checkpoint, sha256), source, grid, final, block, start, stop, batch_size)


def predict_rows(model: LoadedModel, source: ImageSource, grid: GridFit, final: str | Path, block: int, start: int, stop: int,
                 batch_size: int, pool: Any = None, parts: int = 1) -> int:
    """Predict rows ``[start, stop)`` of ``source`` with ``model`` and write them as block
    ``block``: what a Dask task and a thread of the calling process both do. With a thread
    ``pool``, the block's batches are shared among ``parts`` of its threads: each part starts at a
    multiple of the batch size, so the batches are those one thread would form."""
    from deeplense.pause_points import pause_point

    images = grid.apply(source.read(start, stop))
    if pool is None or parts < 2:
        outputs = model.predict(images, batch_size=batch_size)
    else:
        per = -(-(-(-images.shape[0] // batch_size)) // parts) * batch_size  # whole batches per part
        pieces = [pool.submit(model.predict, images[i:i + per], batch_size) for i in range(0, images.shape[0], per)]
        done = [piece.result() for piece in pieces]
        outputs = {k: np.concatenate([d[k] for d in done]) for k in done[0]}
    output.write_block(Path(final), block, start, outputs)
    pause_point("predict.block_written")
    return stop - start


@dataclass(frozen=True)
class Execution:
    """Where the blocks run: ``executor`` ("in_process" or "cluster"), with how many ``workers``
    (threads of the calling process, or Dask workers), and why."""

    executor: str
    workers: int | None
    reason: str

    def describe(self) -> dict[str, Any]:
        return {"executor": self.executor, "workers": self.workers, "reason": self.reason}


def choose_executor(executor: str, workers: int | None, scheduler: str | None, cluster: str) -> Execution:
    """Where the blocks are predicted. ``auto``: on the cluster
    asked for by ``scheduler`` or ``cluster="slurm"``, else in the calling process on ``workers``
    threads (see the measurement above). ``in_process`` and ``cluster`` (a LocalCluster) force either."""
    if executor not in EXECUTORS:
        raise ClusterError(f"executor {executor!r}: allowed: {', '.join(EXECUTORS)}")
    remote = "--scheduler" if scheduler else "--cluster slurm" if cluster == "slurm" else None
    if workers is not None and workers < 1:
        raise ClusterError(f"--workers {workers}: must be at least 1")
    n_workers = workers or os.cpu_count() or 1
    if executor == "in_process":
        if remote:
            raise ClusterError(f"--executor in_process with {remote}: the calling process would not use that cluster; drop one of them")
        return Execution("in_process", n_workers, "asked for")
    if remote:  # the workers: as many as asked for, else one SLURM job, or those the scheduler has (None)
        return Execution("cluster", workers or (1 if cluster == "slurm" and not scheduler else None), f"{remote} given")
    if executor == "cluster":
        return Execution("cluster", n_workers, "asked for")
    return Execution("in_process", n_workers, "one machine: the calling process is faster than a local cluster at every size measured")


def block_size(source: ImageSource, batch_size: int, requested: int | None = None) -> int:
    """Rows per task: ``requested``, else at least ``DEFAULT_BLOCK`` in whole chunks of the input
    (each chunk is then decoded by one task only); rounded up to a multiple of the batch size, so
    each batch is the one the Python API would form. Smaller blocks cost throughput: a worker's
    allocator then maps and unmaps torch's buffers for every block (benchmarks/predict.py)."""
    if requested:
        rows = requested
    else:
        chunk = source.block_hint or 1
        rows = -(-DEFAULT_BLOCK // chunk) * chunk
    return max(batch_size, -(-rows // batch_size) * batch_size)


def fingerprint(model: LoadedModel, source_info: dict[str, Any], grid: GridFit, n: int, block: int, batch_size: int) -> str:
    """What the predictions depend on: checkpoint, input bytes and rows, crop and resampling, block
    and batch size."""
    key = {"checkpoint": model.sha256, "input": source_info, "grid": grid.describe(), "n": n, "block": block, "batch_size": batch_size}
    return "sha256:" + hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()


def class_numbering(model: LoadedModel, source: ImageSource) -> dict[str, Any] | None:
    """Which class order each numeric class array uses: the model's (``predicted_class``,
    ``label``), with the store's order beside it for reference; None for a model without classes."""
    classifier = "probs" in model.task.output_columns()
    if not classifier and not isinstance(source, StoreSource):
        return None
    out: dict[str, Any] = {"model_classes": list(model.task.model_classes)}
    if classifier:
        out["predicted_class"] = "index into model_classes (the `class` coordinate)"
    if isinstance(source, StoreSource):
        out |= {"label": "the true class as an index into model_classes; -1 for a class the model does not have",
                "store_classes": source.store_classes}
    return out


def label_columns(model: LoadedModel, source: ImageSource) -> dict[str, tuple[np.ndarray, str]]:
    """The true class of each row of a deeplense store, by name and numbered in the model's class
    order (-1 for another class): columns ``label_name`` and ``label``; none for other inputs."""
    if not isinstance(source, StoreSource):
        return {}
    labels, classes = source.labels(), list(model.task.model_classes)
    names = np.asarray(source.store_classes, dtype=str)[labels]
    numbers = np.array([classes.index(c) if c in classes else -1 for c in source.store_classes], dtype=np.int64)[labels]
    return {"label": (numbers, "the true class, numbered in the model's class order (an index into `class`); -1 for a class the model does not have"),
            "label_name": (names, "the true class, by name (the store's label)")}


def provenance(model: LoadedModel, source: ImageSource, source_info: dict[str, Any], grid: GridFit) -> dict[str, Any]:
    from deeplense.storage.provenance import git_commit, software_versions

    return {
        "model": model.provenance(),
        "input": source_info,
        "image_shape": list(source.shape),
        "resampled_to": list(model.image_shape) if grid.resample else None,
        "crop": None if grid.crop is None else {"pixels": grid.crop, "centred": True, "resampled": grid.resample},
        "pixel_units": grid.units.describe(),
        "class_numbering": class_numbering(model, source),
        "software": software_versions(("torch", "timm", "distributed")),
        "git_commit": git_commit(),
    }


def predict_to_zarr(
    model_path: str | Path,
    inputs: list[str | Path],
    out: str | Path,
    *,
    split: str | None = None,
    variable: str | None = None,
    sample_dim: str | None = None,
    band_dim: str | None = None,
    fits_ext: int | str | None = None,
    resize: bool = False,
    crop: bool = False,
    all_classes: bool = False,
    batch_size: int = BATCH_SIZE,
    block: int | None = None,
    workers: int | None = None,
    executor: str = "auto",
    scheduler: str | None = None,
    cluster: str = "local",
    profile: str | Path | None = None,
    slurm_overrides: dict[str, Any] | None = None,
    csv: bool | None = None,
    progress: bool = True,
) -> PredictionRun:
    """Predict every image of ``inputs`` with the model at ``model_path`` into the Zarr store
    ``out`` (see the module docstring); a finished store of the same model, input and settings is
    left as it is. A deeplense store gives only the images of the model's classes unless
    ``all_classes``; ``crop`` cuts the model's field of view from the centre of larger images and
    ``resize`` resamples them to its grid (``geometry.fit_grid``). ``executor``: where the blocks
    run (``choose_executor``); the store's provenance records it under ``execution``."""
    from tqdm import tqdm

    started = time.perf_counter()
    final = Path(out)
    model = load_model(model_path)
    source = open_input(inputs, split=split, split_fractions=model.split_fractions() if split else None,
                        variable=variable, sample_dim=sample_dim, band_dim=band_dim, fits_ext=fits_ext,
                        classes=None if all_classes else list(model.task.model_classes))
    grid = model.check_input(source, ", ".join(map(str, inputs)), resize, crop)
    if isinstance(source, StoreSource) and source.left_out:
        left = ", ".join(f"{n} {c}" for c, n in source.left_out.items())
        print(f"note: left out {sum(source.left_out.values())} images of classes model {model.name} does not have ({left}); "
              "pass --all-classes to predict them too")
    rows = block_size(source, batch_size, block)
    choose_executor(executor, workers, scheduler, cluster)  # refuses a bad choice before any file is written
    info = source.describe()
    key = fingerprint(model, info, grid, source.n, rows, batch_size)
    n_blocks = -(-source.n // rows)
    if output.is_complete(final, key):
        print(f"{final}: already holds these predictions ({source.n} images)")
        return PredictionRun(final, source.n, n_blocks, 0, time.perf_counter() - started)
    fields = model.fields()
    arguments = {"inputs": [str(Path(i).resolve()) if Path(i).exists() else str(i) for i in inputs], "split": split,
                 "variable": variable, "sample_dim": sample_dim, "band_dim": band_dim, "fits_ext": fits_ext,
                 "resize": resize, "crop": crop, "all_classes": all_classes}
    attrs = {"fingerprint": key, "provenance": provenance(model, source, info, grid), "arguments": arguments,
             "block": rows, "batch_size": batch_size}
    done = output.create(final, fields, source.ids(), rows, attrs, label_columns(model, source))
    todo = [b for b in range(n_blocks) if not done[b]]
    if done.any():
        print(f"{output.partial_path(final)}: {int(done.sum())} of {n_blocks} blocks already written; computing the other {len(todo)}")
    n_todo = sum(min((b + 1) * rows, source.n) - b * rows for b in todo)
    execution = choose_executor(executor, workers, scheduler, cluster)
    if todo:
        output.update_provenance(final, {"execution": execution.describe()})
        bar = tqdm(total=n_blocks, initial=n_blocks - len(todo), unit="block", desc=f"predict {model.name}", disable=not progress)
        if execution.executor == "in_process":
            with bar:
                _run_in_process(model, source, grid, final, todo, rows, batch_size, bar, execution.workers)
        else:
            options = {"workers": workers, "scheduler": scheduler, "cluster": cluster, "profile": profile,
                       "slurm_overrides": slurm_overrides, "log_dir": final.parent / f"{final.name}.logs"}
            with dask_client(**options) as client, bar:
                _run_blocks(client, model, source, grid, final, todo, rows, batch_size, bar)
    output.finish(final, fields, csv)
    return PredictionRun(final, source.n, n_blocks, len(todo), time.perf_counter() - started, execution.executor, execution.workers)


def _run_in_process(model: LoadedModel, source: ImageSource, grid: GridFit, final: Path, todo: list[int], rows: int,
                    batch_size: int, bar: Any, threads: int) -> None:
    """Predict the blocks in this process with its loaded model, on ``threads`` threads, each
    running torch on the model's one thread as a Dask worker does (torch releases the GIL in its
    kernels): a block per thread, at most ``IN_FLIGHT_PER_WORKER`` per thread submitted at a time;
    with fewer blocks than threads, one block after another, its batches shared among the threads."""
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    def bounds(b: int) -> tuple[int, int]:
        return b * rows, min((b + 1) * rows, source.n)

    pending = iter(todo)
    # torch's thread count is set here, for the whole pool: each new thread starts from it, and
    # ``predict``'s own setting (the same count) then changes nothing another thread relies on.
    with torch_threads(model.threads):
        pool = ThreadPoolExecutor(threads, thread_name_prefix="predict")
        try:
            if len(todo) < threads:
                for b in todo:
                    predict_rows(model, source, grid, final, b, *bounds(b), batch_size, pool=pool, parts=threads)
                    bar.update(1)
                return
            running = {pool.submit(predict_rows, model, source, grid, final, b, *bounds(b), batch_size)
                       for _, b in zip(range(IN_FLIGHT_PER_WORKER * threads), pending)}
            while running:
                finished, running = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    future.result()  # raises the block's error, naming the input
                    bar.update(1)
                    nxt = next(pending, None)
                    if nxt is not None:
                        running.add(pool.submit(predict_rows, model, source, grid, final, nxt, *bounds(nxt), batch_size))
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _run_blocks(client: Any, model: LoadedModel, source: ImageSource, grid: GridFit, final: Path, todo: list[int], rows: int, batch_size: int,
                bar: Any) -> None:
    """Submit the blocks with at most ``IN_FLIGHT_PER_WORKER`` per worker waiting or running."""
    from distributed import as_completed

    source_future = client.scatter(source, broadcast=True)
    n_workers = max(1, len(client.nthreads()))
    pending = iter(todo)

    def submit(b: int):
        start, stop = b * rows, min((b + 1) * rows, source.n)
        return client.submit(predict_block, str(model.checkpoint), model.sha256, source_future, grid, str(final), b, start, stop,
                             batch_size, pure=False)

    running = as_completed([submit(b) for _, b in zip(range(IN_FLIGHT_PER_WORKER * n_workers), pending)])
    for future in running:
        future.result()  # raises the worker's error, naming the input
        bar.update(1)
        nxt = next(pending, None)
        if nxt is not None:
            running.add(submit(nxt))
