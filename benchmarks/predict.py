"""Prediction benchmark: images/s of ``deeplense predict`` (``predict_to_zarr``: blocks of rows
predicted in the calling process or as Dask tasks on a LocalCluster of single-threaded worker
processes, written into a Zarr store) against the plain in-memory DataLoader loop at 1,000, 10,000
and 100,000 images; and over a 100,000-image 64×64 single-band dataset store with 1 and with 2
workers, with the speed-up, beside the usual map-style PyTorch loop over the same store at the
same two cores. All side by side in one run; ends with one JSON line.

    python benchmarks/predict.py           # full: sizes up to 100,000 images, best of 2 (several minutes on 2 idle cores)
    python benchmarks/predict.py --quick   # 1,000 and 10,000 images, once (a minute or two)

The model is a real checkpoint: ``--architecture`` (default mobilenetv3_small_100, about 2,000
images/s on one core at 64×64; resnet18 manages about 280, too slow for 100,000 images three
times) trained for one epoch on the real lenstronomy images the store is tiled from (throughput
does not depend on the weights). The store is a deeplense dataset store with the provenance
``deeplense predict`` checks (the instrument's pixel scale), in the page cache, having just been
written.

What is timed:

* by size (``sizes``): the whole ``predict_to_zarr`` call with the command line's defaults (one
  worker per core, 1,024-image blocks, batches of 128, ``--executor auto``: in the calling process,
  on one machine), against the DataLoader loop over the
  same images already in memory (below); the ratio per size is
  ``deeplense_vs_dataloader_in_memory_by_size``. The executor ``auto`` did not choose runs too,
  forced, so the rule can be checked against both; their stores must agree bit for bit.
* deeplense with 1 and 2 workers: the whole ``predict_to_zarr`` call as a user runs it (only the
  CSV beside the store is left out): where a cluster runs (``executor``), its start-up and each
  worker loading the model; reading, normalising and predicting every block, writing the probabilities, renaming the store. ``img_per_s`` divides the
  images by all of it. ``steady_img_per_s`` is the rate of the middle 80 % of blocks (from the
  completion of the 10th-percentile block to that of the 90th): start-up and the last blocks of an
  unevenly loaded worker are left out. The speed-up is given for both. Both worker counts use the
  same block and batch size, with enough blocks to keep both workers busy; they run alternately,
  and the best of ``--repeats`` counts, so that a noisy neighbour does not decide the ratio.
* the DataLoader loop, compared at equal cores: a map-style ``Dataset`` whose ``__getitem__``
  reads one image by Zarr indexing and normalises it with the model's mean and std, in a
  ``DataLoader`` of the same batch size with its default ``num_workers=0``, each batch predicted
  by the same network in the main process with torch on 2 threads (2 cores, as 2 deeplense
  workers). Each ``__getitem__`` decodes the whole Zarr chunk holding its image, so the cost per
  image is the same all along the store: it runs over the first ``--dataloader-images`` (all
  100,000 would take minutes). Model loading is not timed and predictions stay in memory: every
  advantage to the DataLoader. The same loop over images already in memory (read beforehand,
  untimed) bounds any DataLoader at these cores: what is left is the network on 2 torch threads.

Beside them, the ceiling of any 2-worker speed-up here: the network alone (images in memory, no
Dask, no reading or writing) in 2 processes at once against 1 (``network_alone_2_vs_1_processes``,
before each repeat). Both loops' predictions are checked to agree. Each run records how many cores
other processes kept busy meanwhile (``others_cores``, from /proc/stat less this process and its
Dask workers): on a shared machine, read the figures with it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Timer, bench_provenance, emit, rate, real_images, write_tiled_store  # noqa: E402

ARCHITECTURE = "mobilenetv3_small_100"
NUM_PIX = 64
WORKERS = (1, 2)
SIZES = (1_000, 10_000, 100_000)  # of the comparison with the in-memory loop
STEADY = (0.1, 0.9)  # the blocks whose completions bound the steady-state window


class CpuShare:
    """While active, the CPU time the rest of the machine took: cores kept busy on average by
    processes other than this one and its children (from /proc/stat and getrusage; the Dask
    workers are children, counted once their cluster has closed), and cores stolen by the
    hypervisor. A noisy neighbour shows up here."""

    @staticmethod
    def _machine() -> tuple[float, float]:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
        hz = os.sysconf("SC_CLK_TCK")
        return (user + nice + system + irq + softirq) / hz, steal / hz

    @staticmethod
    def _own() -> float:
        import resource

        return sum(r.ru_utime + r.ru_stime for r in (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)))

    def __enter__(self) -> "CpuShare":
        self._start = (time.perf_counter(), *self._machine(), self._own())
        return self

    def __exit__(self, *exc) -> None:
        t0, busy0, steal0, own0 = self._start
        wall, (busy, steal), own = time.perf_counter() - t0, self._machine(), self._own()
        self.others_cores = max(0.0, (busy - busy0) - (own - own0)) / wall
        self.steal_cores = (steal - steal0) / wall
        self.own_cores = (own - own0) / wall


class BlockClock:
    """While active, ``predict_to_zarr`` records when its blocks start running (its Dask cluster is
    up, or the calling process starts on them) and when each block comes back: it wraps
    ``deeplense.predict.run._run_blocks`` and ``_run_in_process`` and their progress bar; nothing
    else changes."""

    RUNNERS = ("_run_blocks", "_run_in_process")

    def __enter__(self) -> "BlockClock":
        import inspect

        from deeplense.predict import run

        self.ready: float | None = None
        self.done: list[float] = []
        self.rows = 0
        clock = self

        class Stamped:
            def __init__(self, bar) -> None:
                self.bar = bar

            def update(self, k: int = 1) -> None:
                clock.done.append(time.perf_counter())
                self.bar.update(k)

        def stamped(original):
            signature = inspect.signature(original)

            def timed(*args, **kwargs):
                bound = signature.bind(*args, **kwargs)
                clock.ready, clock.rows = time.perf_counter(), bound.arguments["rows"]
                bound.arguments["bar"] = Stamped(bound.arguments["bar"])
                return original(*bound.args, **bound.kwargs)

            return timed

        self._restore = {name: getattr(run, name) for name in self.RUNNERS}
        for name, original in self._restore.items():
            setattr(run, name, stamped(original))
        self._module = run
        return self

    def __exit__(self, *exc) -> None:
        for name, original in self._restore.items():
            setattr(self._module, name, original)

    def steady_rate(self) -> float:
        """Images/s between the completions of the blocks at the ``STEADY`` fractions."""
        done = sorted(self.done)
        lo, hi = int(STEADY[0] * len(done)), int(np.ceil(STEADY[1] * len(done))) - 1
        if hi <= lo:
            return float("nan")
        return rate((hi - lo) * self.rows, done[hi] - done[lo])


def deeplense_run(model: Path, store: Path, out: Path, workers: int | None = None, block: int | None = None,
                  batch_size: int | None = None, executor: str = "auto") -> dict:
    """One ``predict_to_zarr`` run into a new store ``out``; unset options are the command line's
    defaults (workers: one per core; block: at least 1,024 images; batch: 128; executor: auto)."""
    from deeplense.predict.run import predict_to_zarr

    shutil.rmtree(out, ignore_errors=True)
    options = {k: v for k, v in {"workers": workers, "block": block, "batch_size": batch_size}.items() if v is not None}
    with CpuShare() as cpu, BlockClock() as clock:
        start = time.perf_counter()
        run = predict_to_zarr(model, [store], out, executor=executor, progress=False, csv=False, **options)
    assert run.blocks_computed == run.blocks == len(clock.done), (run, len(clock.done))
    return {
        "executor": run.executor,
        "workers": run.workers,
        "own_cores": cpu.own_cores,  # this process and its Dask workers
        "others_cores": cpu.others_cores,
        "steal_cores": cpu.steal_cores,
        "img_per_s": rate(run.n_images, run.seconds),
        "steady_img_per_s": clock.steady_rate(),
        "wall_s": run.seconds,
        "startup_s": clock.ready - start,  # until blocks start: on a cluster, its worker processes spawned
        "first_block_s": min(clock.done) - clock.ready,  # on a cluster, with a worker importing torch and loading the model
        "blocks": run.blocks,
    }


def _network_process(model_path: Path, images: np.ndarray, seconds: float, index: int, barrier, results) -> None:
    """One of ``machine_scaling``'s processes: the model's ``predict`` over ``images`` (one block)
    on one torch thread, again and again for ``seconds``: first process 0 alone, then both
    together."""
    from deeplense import load_model

    model = load_model(model_path, threads=1)
    model.predict(images)  # warm-up
    for phase, active in (("alone", index == 0), ("together", True)):
        barrier.wait()
        if active:
            n, start = 0, time.perf_counter()
            while (elapsed := time.perf_counter() - start) < seconds:
                model.predict(images)
                n += images.shape[0]
            results.put((phase, index, n / elapsed))


def machine_scaling(model_path: Path, images: np.ndarray, seconds: float) -> dict:
    """What 2 processes gain over 1 on this machine at this moment for the network alone (images in
    memory, no Dask, no reading or writing): the ceiling of any 2-worker speed-up. Below 2 when the
    cores share something (a neighbour's load, a hyperthread sibling, memory bandwidth)."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_network_process, args=(model_path, images, seconds, i, barrier, results)) for i in range(2)]
    with CpuShare() as cpu:
        for proc in procs:
            proc.start()
        got = [results.get(timeout=600) for _ in range(3)]
        for proc in procs:
            proc.join()
    alone = sum(r for phase, _, r in got if phase == "alone")
    together = sum(r for phase, _, r in got if phase == "together")
    return {"img_per_s_1_process": alone, "img_per_s_2_processes": together, "scaling": together / alone, "others_cores": cpu.others_cores}


class StoreImages:
    """The usual map-style Dataset: one image per ``__getitem__``, read by Zarr indexing from the
    store's image array (opened on first use, so that it pickles to DataLoader workers too), or
    taken from ``images`` in memory, and normalised with the model's training mean and std, as
    torchvision's Normalize would."""

    def __init__(self, store: Path, n: int, mean, std, images: np.ndarray | None = None) -> None:
        self.path, self.n, self.array = store / "image", n, images
        self.mean = np.asarray(mean, dtype=np.float32)[:, None, None]
        self.inv_std = 1.0 / np.asarray(std, dtype=np.float32)[:, None, None]

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int):
        import torch
        import zarr

        if self.array is None:
            self.array = zarr.open_array(str(self.path), mode="r")
        image = np.asarray(self.array[i], dtype=np.float32)  # (band, y, x)
        return torch.from_numpy((image - self.mean) * self.inv_std)


def dataloader_run(model_path: Path, store: Path, n: int, batch_size: int, threads: int, in_memory: bool = False) -> tuple[dict, np.ndarray]:
    """The DataLoader loop over the first ``n`` images (read from the store, or ``in_memory``:
    read beforehand, untimed); the class probabilities it predicts."""
    import torch
    import zarr
    from torch.utils.data import DataLoader

    from deeplense import load_model

    model = load_model(model_path, threads=threads)  # the same network, task and normalisation
    norm = model.info.normalisation
    images = np.asarray(zarr.open_array(str(store / "image"), mode="r")[:n]) if in_memory else None
    loader = DataLoader(StoreImages(store, n, norm["mean"], norm["std"], images), batch_size=batch_size)  # num_workers=0
    probs = []
    with CpuShare() as cpu, Timer() as t, torch.no_grad():
        for x in loader:
            probs.append(model.task.predictions(model.network, x)["probs"])
    return {"img_per_s": rate(n, t.seconds), "wall_s": t.seconds, "images": n, "torch_threads": torch.get_num_threads(),
            "own_cores": cpu.own_cores, "others_cores": cpu.others_cores, "steal_cores": cpu.steal_cores}, np.concatenate(probs)


def by_size(model: Path, base: np.ndarray, labels: np.ndarray, tmp: Path, sizes: list[int], stores: dict[int, Path],
            batch_size: int, cores: int) -> dict:
    """At each size, ``deeplense predict`` as a user runs it (default workers, block and executor;
    the whole call) against the in-memory DataLoader loop over the same images, and the executor
    ``auto`` did not choose, forced, for comparison; the two executors' stores must agree bit for
    bit, and the loop's predictions to float32 rounding."""
    import zarr

    rows = {}
    for size in sizes:
        store = stores.get(size) or write_tiled_store(tmp / f"predict_{size}.zarr", base, labels, size,
                                                      attrs=bench_provenance(-(-size // 3), NUM_PIX) | {"content_hash": f"benchmark-tiled-{size}"})
        loop, loop_probs = dataloader_run(model, store, size, batch_size, threads=cores, in_memory=True)
        auto = deeplense_run(model, store, tmp / f"size_{size}.zarr", batch_size=batch_size)
        other = "cluster" if auto["executor"] == "in_process" else "in_process"
        forced = deeplense_run(model, store, tmp / f"size_{size}_{other}.zarr", batch_size=batch_size, executor=other)
        ours = np.asarray(zarr.open_group(str(tmp / f"size_{size}.zarr"), mode="r")["probs"][:])
        theirs = np.asarray(zarr.open_group(str(tmp / f"size_{size}_{other}.zarr"), mode="r")["probs"][:])
        assert np.array_equal(ours, theirs), f"{size} images: the in-process and cluster stores differ"
        diff = float(np.abs(ours - loop_probs).max())
        assert diff < 1e-4, f"{size} images: deeplense predict and the DataLoader loop disagree by {diff}"
        rows[str(size)] = {"images": size, "deeplense": auto, f"deeplense_{other}": forced, "dataloader_in_memory": loop,
                           "deeplense_vs_dataloader_in_memory": auto["img_per_s"] / loop["img_per_s"],
                           f"deeplense_{other}_vs_dataloader_in_memory": forced["img_per_s"] / loop["img_per_s"],
                           "predictions_max_abs_diff": diff}
        print(f"{size:,} images: deeplense predict ({auto['executor']}, {auto['workers']} worker(s)) {auto['img_per_s']:,.0f} img/s "
              f"in {auto['wall_s']:.1f} s, {other} {forced['img_per_s']:,.0f}, in-memory DataLoader {loop['img_per_s']:,.0f}: "
              f"ratio {rows[str(size)]['deeplense_vs_dataloader_in_memory']:.2f} ({other}: "
              f"{rows[str(size)][f'deeplense_{other}_vs_dataloader_in_memory']:.2f}); "
              f"other processes kept {auto['others_cores']:.2f} cores busy", flush=True)
        for path in (tmp / f"size_{size}.zarr", tmp / f"size_{size}_{other}.zarr"):
            shutil.rmtree(path, ignore_errors=True)
    return rows


def train_checkpoint(root: Path, store: Path, architecture: str) -> Path:
    """One epoch of ``architecture`` on ``store`` (real images): a real checkpoint of 64×64, 1 band."""
    from deeplense.config import ModelConfig
    from deeplense.training.trainer import TrainOutputs, train_model

    cfg = ModelConfig(architecture=architecture, dataset="bench", epochs=1, batch_size=16, shuffle_buffer_mb=1, threads=2)
    train_model("bench", cfg, store, TrainOutputs(root / "checkpoint.pt", root / "history.csv", root / "train_info.json"),
                seed=0, split={"train": 0.7, "val": 0.15, "test": 0.15})
    return root


def best(runs: list[dict], key: str) -> float:
    return max(r[key] for r in runs)


def rounded(value):
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v) for v in value]
    if isinstance(value, float):
        if not np.isfinite(value):  # a steady rate of too few blocks: JSON has no NaN
            return None
        if abs(value) < 0.01:
            return float(f"{value:.2g}")
        return round(value, 2) if abs(value) < 100 else round(value)
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="sizes 1,000 and 10,000, a 10,000-image store, once: a minute or two")
    parser.add_argument("--architecture", default=ARCHITECTURE, help=f"timm or deeplense architecture (default {ARCHITECTURE})")
    parser.add_argument("--images", type=int, help="images in the store (default 100,000; quick 10,000)")
    parser.add_argument("--block", type=int, help="rows per Dask task (default 1,024; quick 256)")
    parser.add_argument("--batch-size", type=int, default=128, help="images per forward pass, both loops (default 128)")
    parser.add_argument("--repeats", type=int, help="runs of each worker count, alternating; the best counts (default 2; quick 1)")
    parser.add_argument("--dataloader-images", type=int, help="images the DataLoader loop predicts (default 10,240; quick 1,024)")
    parser.add_argument("--sizes", help="comma-separated input sizes of the comparison with the in-memory loop "
                        "(default 1000,10000,100000; quick 1000,10000)")
    args = parser.parse_args()
    sizes = [int(v) for v in args.sizes.split(",")] if args.sizes else list(SIZES[:2] if args.quick else SIZES)
    n = args.images or (10_000 if args.quick else 100_000)
    block = args.block or (256 if args.quick else 1024)
    repeats = args.repeats or (1 if args.quick else 2)
    n_loader = min(n, args.dataloader_images or (1_024 if args.quick else 10_240))
    n_memory = 2_560 if args.quick else 20_000  # 320 MiB at most
    cores = len(os.sched_getaffinity(0))

    import distributed  # noqa: F401  (imported here, not inside the first timed run)
    import zarr

    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="deeplense-bench-") as tmp:
        tmp = Path(tmp)
        with Timer() as t_setup:
            per_class = 16 if args.quick else 64
            base, labels = real_images(per_class, NUM_PIX)  # real lenstronomy images, tiled
            train_store = write_tiled_store(tmp / "train.zarr", base, labels, base.shape[0],
                                            attrs=bench_provenance(per_class, NUM_PIX) | {"content_hash": "benchmark-train"})
            model = train_checkpoint(tmp / "model", train_store, args.architecture)
        with Timer() as t_store:
            store = write_tiled_store(tmp / "predict.zarr", base, labels, n,
                                      attrs=bench_provenance(-(-n // 3), NUM_PIX) | {"content_hash": f"benchmark-tiled-{n}"})

        runs: dict[int, list[dict]] = {w: [] for w in WORKERS}
        scaling: list[dict] = []
        network_images = np.resize(base, (block, *base.shape[1:]))  # one block per call, as a worker predicts
        for r in range(repeats):
            scaling.append(machine_scaling(model, network_images, 2.0 if args.quick else 5.0))
            print(f"the network alone, 2 processes vs 1: {scaling[-1]['scaling']:.2f}× "
                  f"({scaling[-1]['img_per_s_1_process']:,.0f} img/s on one); other processes kept {scaling[-1]['others_cores']:.2f} cores busy",
                  flush=True)
            for w in WORKERS if r % 2 == 0 else WORKERS[::-1]:
                runs[w].append(deeplense_run(model, store, tmp / f"pred_{w}.zarr", w, block, args.batch_size))
                last = runs[w][-1]
                print(f"deeplense predict, {w} worker(s): {last['img_per_s']:,.0f} img/s (steady {last['steady_img_per_s']:,.0f}) "
                      f"in {last['wall_s']:.1f} s; other processes kept {last['others_cores']:.2f} cores busy", flush=True)
        loader, loader_probs = dataloader_run(model, store, n_loader, args.batch_size, threads=cores)
        print(f"DataLoader (num_workers=0, torch {loader['torch_threads']} threads): {loader['img_per_s']:,.0f} img/s; "
              f"other processes kept {loader['others_cores']:.2f} cores busy", flush=True)
        memory, memory_probs = dataloader_run(model, store, min(n, n_memory), args.batch_size, threads=cores, in_memory=True)
        print(f"DataLoader over images in memory: {memory['img_per_s']:,.0f} img/s; "
              f"other processes kept {memory['others_cores']:.2f} cores busy", flush=True)
        sized = by_size(model, base, labels, tmp, sizes, {n: store}, args.batch_size, cores)
        predictions = zarr.open_group(str(tmp / f"pred_{WORKERS[-1]}.zarr"), mode="r")
        assert predictions.attrs["provenance"]["input"]["kind"] == "deeplense store", predictions.attrs["provenance"]["input"]
        ours = np.asarray(predictions["probs"][:max(n_loader, memory["images"])])
        max_diff = max(float(np.abs(ours[:n_loader] - loader_probs).max()), float(np.abs(ours[:memory["images"]] - memory_probs).max()))
    load_end = os.getloadavg()

    one, two = runs[1], runs[2]
    result = {
        "benchmark": "predict",
        "quick": args.quick,
        "n_images": n,
        "image_shape": [1, NUM_PIX, NUM_PIX],
        "architecture": args.architecture,
        "block": block,
        "batch_size": args.batch_size,
        "repeats": repeats,
        "cores": cores,
        "deeplense_img_per_s": {f"{w}_workers": best(runs[w], "img_per_s") for w in WORKERS},
        "deeplense_steady_img_per_s": {f"{w}_workers": best(runs[w], "steady_img_per_s") for w in WORKERS},
        "speedup_2_vs_1_workers": best(two, "img_per_s") / best(one, "img_per_s"),
        "speedup_2_vs_1_workers_steady": best(two, "steady_img_per_s") / best(one, "steady_img_per_s"),
        "network_alone_2_vs_1_processes": best(scaling, "scaling"),  # the ceiling of the speed-up here and now
        "network_alone": scaling,
        "dataloader": loader | {"num_workers": 0, "reader": "zarr indexing, one image per __getitem__"},
        "deeplense_2_workers_vs_dataloader": best(two, "img_per_s") / loader["img_per_s"],
        "deeplense_2_workers_vs_dataloader_steady": best(two, "steady_img_per_s") / loader["img_per_s"],
        "dataloader_in_memory": memory | {"num_workers": 0, "reader": "numpy array in memory, read beforehand"},
        "deeplense_2_workers_vs_dataloader_in_memory": best(two, "img_per_s") / memory["img_per_s"],
        "deeplense_2_workers_vs_dataloader_in_memory_steady": best(two, "steady_img_per_s") / memory["img_per_s"],
        "predictions_max_abs_diff": max_diff,
        "deeplense_vs_dataloader_in_memory_by_size": {k: row["deeplense_vs_dataloader_in_memory"] for k, row in sized.items()},
        "executor_by_size": {k: row["deeplense"]["executor"] for k, row in sized.items()},
        "sizes": sized,
        "runs": {f"{w}_workers": runs[w] for w in WORKERS},
        "setup_s": t_setup.seconds,
        "store_write_s": t_store.seconds,
        "load_avg_1m": [load_start[0], load_end[0]],
    }
    assert max_diff < 1e-4, f"deeplense predict and the DataLoader loop disagree by {max_diff}"
    emit(rounded(result))


if __name__ == "__main__":
    main()
