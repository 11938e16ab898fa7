"""Training benchmark: training throughput (images/s) at 64×64 (or `--size`) on this CPU for resnet18,
efficientnet_b0, vit_tiny, the equivariant CNN, the XResNet hybrid, MogaNet-XT, the
group-equivariant ViT, group pooling (D4 over resnet18) and Equivariant Transformer layers (rotation,
scale) over resnet18, through deeplense's own training epoch (streamed from a Zarr store, D4
augmentation), and the fraction of the epoch spent waiting for data. Beside each, the same steps
on batches already in memory (the ratio shows what streaming costs) and inference (eval mode, no
gradients) on those batches. All side by side in one run; ends with one JSON line.

    python benchmarks/train.py           # full: 1,024 training images per model
    python benchmarks/train.py --quick   # under a minute: 128 images, two models
    python benchmarks/train.py --quick --models resnet18 moganet_xtiny   # chosen models
    python benchmarks/train.py --quick --size 150 --models efficientnet_b2 equivariant_c8 equivariant   # Model I/A sizes
    python benchmarks/train.py --quick --size 150 --precisions float32 bfloat16   # CPU bfloat16 against float32

``--precisions``: each model is measured at each training precision (the config's ``precision``),
one after the other in this run, and ``bfloat16_vs_float32`` gives the streamed speed-up. It holds
for this CPU only: bfloat16 is about twice float32's speed where the CPU computes it (AVX512-BF16
or AMX) and an order of magnitude slower where it is emulated, so the JSON line records the CPU
(``cpu``: model, flags, torch's kernel level, whether it computes bfloat16, threads).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Timer, cpu_description, emit, rate, real_images, write_tiled_store  # noqa: E402

MODELS = {  # label: (architecture, architecture_args)
    "resnet18": ("resnet18", {}),
    "efficientnet_b0": ("efficientnet_b0", {}),
    "efficientnet_b2": ("efficientnet_b2", {}),
    "vit_tiny": ("vit_tiny_patch16_224", {}),
    "equivariant": ("equivariant_cnn", {}),  # D8
    "equivariant_c8": ("equivariant_cnn", {"group": "C", "order": 8}),
    "xresnet18_hybrid": ("xresnet18_hybrid", {}),
    "moganet_xtiny": ("moganet_xtiny", {}),
    "ge_vit_p4m": ("ge_vit", {"group": "p4m"}),
    "group_pooled_d4_resnet18": ("group_pooled", {"backbone": "resnet18", "group": "D4"}),
    "equivariant_transformer_resnet18": ("equivariant_transformer", {"transforms": ["rotation", "scale"], "backbone": "resnet18"}),
}
QUICK_MODELS = ("resnet18", "xresnet18_hybrid")
FULL_MODELS = tuple(m for m in MODELS if m not in ("efficientnet_b2", "equivariant_c8"))  # the 64×64 set measured since the start
BATCH = 64


def measure(label: str, store: Path, n: int, threads: int, precision: str = "float32") -> dict:
    """Streamed epoch (deeplense's loop) and in-memory steps for one architecture."""
    import torch

    from deeplense.config import ModelConfig
    from deeplense.data.torch_loader import make_loader
    from deeplense.training.optim import build_optimizer, build_schedule
    from deeplense.training.steps import train_step
    from deeplense.training.trainer import _train_epoch, prepare

    architecture, args = MODELS[label]
    cfg = ModelConfig(architecture=architecture, architecture_args=args, dataset="bench", batch_size=BATCH, epochs=1, threads=threads,
                      precision=precision)
    split = {"train": 0.9, "val": 0.05, "test": 0.05}
    setup = prepare(cfg, store, seed=0, split=split)
    data = setup.stream(setup.splits["train"][:n], train=True)
    loader = make_loader(data)
    optimizer = build_optimizer(cfg, setup.model.parameters())
    schedule = build_schedule(cfg, optimizer, len(data), maximise=False)
    warm_images, warm_targets, _ = next(iter(loader))  # first-call costs (allocator, kernels) are not throughput
    train_step(setup.model, setup.task, optimizer, warm_images, warm_targets, setup.device)
    data.set_epoch(1)
    start = time.perf_counter()
    _, wait = _train_epoch(setup.model, loader, setup.task, optimizer, schedule, setup.device, None, label)
    streamed = time.perf_counter() - start

    batches = list(loader)  # the same batches, decoded and augmented beforehand
    seen = sum(int(b[1].shape[0]) for b in batches)
    with Timer() as t:
        for images, targets, _ in batches:
            train_step(setup.model, setup.task, optimizer, images, targets, setup.device)
    setup.model.eval()
    with Timer() as inference, torch.no_grad():
        for images, _, _ in batches:
            setup.model(setup.device.batch(images))
    return {
        "images": seen,
        "img_per_s": round(rate(seen, streamed), 1),
        "in_memory_img_per_s": round(rate(seen, t.seconds), 1),
        "inference_img_per_s": round(rate(seen, inference.seconds), 1),
        "streamed_vs_in_memory": round(t.seconds / streamed, 3),
        "data_wait_fraction": round(wait, 4),
        "parameters_m": round(sum(p.numel() for p in setup.model.parameters()) / 1e6, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="under a minute: fewer images, two models")
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--size", type=int, default=64, help="image size in pixels (150: Models I and A)")
    parser.add_argument("--models", nargs="+", choices=tuple(MODELS), help="measure these (resnet18, the reference, is always added)")
    parser.add_argument("--precisions", nargs="+", default=["float32"], choices=("float32", "bfloat16"), help="training precisions to compare")
    args = parser.parse_args()
    n = 128 if args.quick else 1024
    labels = QUICK_MODELS if args.quick else FULL_MODELS
    if args.models:
        labels = tuple(dict.fromkeys(["resnet18", *args.models]))
    base, classes = real_images(32, args.size)
    with tempfile.TemporaryDirectory() as tmp:
        store = write_tiled_store(Path(tmp) / "bench.zarr", base, classes, int(n / 0.9) + BATCH)
        results = {}
        for label in labels:
            for precision in args.precisions:
                key = label if len(args.precisions) == 1 else f"{label}@{precision}"
                results[key] = r = measure(label, store, n, args.threads, precision)
                print(
                    f"{key:18s} {r['img_per_s']:8.1f} img/s streamed, {r['in_memory_img_per_s']:8.1f} in memory "
                    f"(ratio {r['streamed_vs_in_memory']:.3f}), {r['inference_img_per_s']:8.1f} inference, data wait {100 * r['data_wait_fraction']:.2f}% of the epoch, "
                    f"{r['parameters_m']} M parameters"
                )
    reference = results["resnet18" if len(args.precisions) == 1 else f"resnet18@{args.precisions[0]}"]["img_per_s"]
    for r in results.values():
        r["vs_resnet18"] = round(r["img_per_s"] / reference, 3)
    speedups = {}
    if {"float32", "bfloat16"} <= set(args.precisions):
        for label in labels:
            speedups[label] = round(results[f"{label}@bfloat16"]["img_per_s"] / results[f"{label}@float32"]["img_per_s"], 3)
            print(f"{label:18s} bfloat16 trains {speedups[label]:.2f}× as fast as float32")
    worst_wait = max(r["data_wait_fraction"] for r in results.values())
    print(f"largest data-wait fraction: {100 * worst_wait:.2f}% (must stay under 10%)")
    emit({"benchmark": "train", "quick": args.quick, "threads": args.threads, "image_size": args.size, "batch": BATCH,
          "precisions": args.precisions, "cpu": cpu_description(args.threads),
          "max_data_wait_fraction": worst_wait, "models": results} | ({"bfloat16_vs_float32": speedups} if speedups else {}))


if __name__ == "__main__":
    main()
