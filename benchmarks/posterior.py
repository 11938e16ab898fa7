"""Posterior benchmark: posterior draws per second of deeplense's ``Posterior`` task against sbi's
own in-memory path on the same network, and what the calibration diagnostics cost each way. All
side by side in one run, at ``--threads`` torch threads (default 2); ends with one JSON line.

    python benchmarks/posterior.py           # full: 10,000 images × 1,000 draws; diagnostics on 2,000 × 1,000
    python benchmarks/posterior.py --quick   # 512 × 200; diagnostics on 256 × 200
    python benchmarks/posterior.py --images 5000   # a shorter full run

The full run took 26 minutes on 2 cores that other jobs kept about half busy (2026-12-07); the
quick one 1.5 to 2 minutes then (imports and set-up alone 15 to 60 s); neither has been timed
on idle cores.

The network: ``resnet18`` (timm) as the embedding network (32 features) of a masked
autoregressive flow (sbi's ``maf``, 50 hidden features, 5 transforms), one target
(``log10_m_axion``, prior uniform on [-24, -22]), built by ``Posterior.network`` exactly as
training builds it. Images are random float32 (1, 64, 64). The weights are not trained: speed
does not depend on them, except through rejection into the prior's support, which both paths
do. An untrained flow puts about 85% of its draws outside the prior, which would make rejection
the whole cost, so the flow alone (the embedding stays random) is first fitted for 100 steps (on
128 images' embeddings, seconds) to targets drawn from the prior: its posterior is then about the
prior (a Gaussian, as a one-target maf is), and it leaks about 8% of its draws, which a trained
network's posterior of an uninformative image also does (an informative, narrower one leaks
less). The leakage measured is in the JSON line (``leakage``).

What is timed (``time.perf_counter``, eval mode, ``torch.no_grad``, each path warmed up once on one
batch beforehand):

* draws, deeplense: ``task.draws(network, batch, n_draws)`` over batches of 128 images, as
  evaluation and ``deeplense predict`` call it: embedding, drawing, rejection into the prior's
  support, the seed from the batch's pixels, physical units. ``embeddings_per_image``: how often
  the embedding network ran per image (a forward hook counts): each rejection round of
  ``draws_in_support`` calls ``network.sample`` on the images still short of draws, which embeds
  them again, and with any leakage nearly every image of 1,000 draws is short after the first.
* draws, sbi in memory: every image embedded first (by the same embedding network, in batches of
  128: a 10,000-image forward pass would need gigabytes of activations; the time is reported as
  ``embed_s`` and counted in the rates), then one ``DirectPosterior(network.estimator,
  BoxUniform(standardised prior bounds)).sample_batched((n_draws,), x=embeddings)`` call over all
  of them, sbi's rejection included. sbi caps its sampling batch at 100,000 // images draws a
  round, so for all 10,000 images at once it draws 10 per image a round, for as many rounds as the
  unluckiest image needs, and loops over every image in Python each round. Beside it
  (``sbi_in_memory_batches_of_128``), the same call per 128 embeddings, as deeplense batches (the
  embedding time is the one measured above, not measured twice). ``ratio_deeplense_over_sbi`` is
  deeplense's draws/s over sbi's whole-array call's; above 1, deeplense is faster.
* diagnostics, on other test images, their truths drawn from the prior: deeplense's evaluation
  (``ranks_from_draws``, ``calibration`` with sbi's KS test, ``tarp``) on the draws it made once
  (``diagnostics_s``, best of 5), and with the drawing (``total_s``); sbi's ``run_sbc`` (marginals, 1
  worker) + ``check_uniformity_frequentist`` and ``run_tarp`` (uniform references) + ``check_tarp``
  on the in-memory embeddings (``total_s``, with the embedding; each of run_sbc and run_tarp draws
  its own posterior samples), and sbi's sample-based cores (``_run_sbc``, ``_run_tarp``: private
  functions) with its checks on deeplense's draws (``diagnostics_alone_s``, best of 5), the like of
  deeplense's ``diagnostics_s``. ``check_sbc_s``: sbi's full ``check_sbc`` (which adds two C2ST
  classifier tests) on run_sbc's ranks, not in the totals. The ratios are of seconds, deeplense
  over sbi: below 1, deeplense is faster.

sbi's warnings about large batched sampling and its capping are silenced. ``others_cores`` (per
section: cores other processes kept busy, from /proc/stat) says how loaded the machine was:
read the figures with it.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import cpu_description, emit, rate  # noqa: E402

ARCHITECTURE = "resnet18"
NUM_PIX = 64
BATCH = 128
TARGET = "log10_m_axion"
SETTINGS = {"estimator": "maf", "embedding_features": 32, "hidden_features": 50, "num_transforms": 5, "num_components": 10,
            "draws": 1000}
PRIOR = {"dist": "uniform", "low": -24.0, "high": -22.0}
MEAN, STD = -23.0, 0.577
FIT_IMAGES, FIT_STEPS, FIT_LR = 128, 100, 3e-3  # the flow's fit to the prior (see the docstring)
WARM = 16  # images of the diagnostics' warm-ups (the drawing paths were warmed up on a batch of 128 before)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class Section:
    """Wall seconds of a ``with`` block, and the cores other processes kept busy meanwhile."""

    @staticmethod
    def _cpu() -> tuple[float, float]:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]]
        user, nice, system, _idle, _iowait, irq, softirq = fields
        own = resource.getrusage(resource.RUSAGE_SELF)
        return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK"), own.ru_utime + own.ru_stime

    def __enter__(self) -> "Section":
        self._busy, self._own = self._cpu()
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self._start
        busy, own = self._cpu()
        self.others_cores = max(0.0, (busy - self._busy) - (own - self._own)) / self.seconds


def best(work, repeats: int = 5) -> Section:
    """The fastest of ``repeats`` timed runs of ``work()`` (its result in ``value``): for steps of
    a fraction of a second, which a neighbour's burst would otherwise decide."""
    runs = []
    for _ in range(repeats):
        with Section() as section:
            section.value = work()
        runs.append(section)
    return min(runs, key=lambda r: r.seconds)


def build(seed: int):
    """The task, its network (random resnet18 embedding, sbi maf) with the flow fitted to the
    prior, and sbi's DirectPosterior on the same estimator with the prior in standardised units."""
    import torch
    from sbi.inference.posteriors import DirectPosterior
    from sbi.utils import BoxUniform

    from deeplense.models.registry import create_model
    from deeplense.tasks.posterior import Posterior

    task = Posterior(["axion"], target_names=[TARGET], settings=SETTINGS, priors=[PRIOR], mean=[MEAN], std=[STD])
    torch.manual_seed(seed)
    network = task.network(create_model(ARCHITECTURE, in_chans=1, num_outputs=SETTINGS["embedding_features"], img_size=NUM_PIX))
    network.eval()
    low, high = (torch.as_tensor(b, dtype=torch.float32) for b in task._bounds())
    prior = BoxUniform(low, high)
    with torch.no_grad():
        features = embed(network, torch.rand(FIT_IMAGES, 1, NUM_PIX, NUM_PIX))
    optimizer = torch.optim.Adam(network.estimator.parameters(), lr=FIT_LR)
    network.estimator.train()
    for _ in range(FIT_STEPS):
        loss = network.estimator.loss(prior.sample((FIT_IMAGES,)), condition=features).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    network.estimator.eval()
    return task, network, prior, DirectPosterior(posterior_estimator=network.estimator, prior=prior)


def embed(network, images):
    import torch

    return torch.cat([network.embedding(images[i:i + BATCH]).float() for i in range(0, len(images), BATCH)])


class EmbeddedImages:
    """While active, counts the images the network's embedding runs on (a forward hook)."""

    def __init__(self, network) -> None:
        self.network, self.images = network, 0

    def __enter__(self) -> "EmbeddedImages":
        def count(_module, inputs, _output) -> None:
            self.images += inputs[0].shape[0]

        self._hook = self.network.embedding.register_forward_hook(count)
        return self

    def __exit__(self, *exc) -> None:
        self._hook.remove()


def deeplense_draws(task, network, images, n_draws: int) -> tuple[np.ndarray, float]:
    """(n, n_draws, 1) physical draws over batches of 128, and the mean fraction rejected."""
    draws, leaked = [], []
    for i in range(0, len(images), BATCH):
        d, lk = task.draws(network, images[i:i + BATCH], n_draws)
        draws.append(d)
        leaked.append(lk)
    return np.concatenate(draws), float(np.mean(leaked))


def sbi_draws(posterior, embeddings, n_draws: int, chunk: int | None = None):
    """(n_draws, n, 1) standardised draws by sbi's ``sample_batched``: all embeddings at once, or per ``chunk``."""
    import torch

    chunk = chunk or len(embeddings)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*(batched sampling|Capping max_sampling_batch_size).*")
        return torch.cat([posterior.sample_batched((n_draws,), x=embeddings[i:i + chunk], show_progress_bars=False)
                          for i in range(0, len(embeddings), chunk)], dim=1)


def draws_benchmark(task, network, posterior, images, n_draws: int) -> dict:
    n = len(images)
    low, high = task._bounds()
    log(f"draws: {n:,} images × {n_draws:,} draws, deeplense's task.draws over batches of {BATCH}")
    deeplense_draws(task, network, images[:BATCH], n_draws)  # warm-up
    with Section() as dl, EmbeddedImages(network) as embedded:
        draws, leaked = deeplense_draws(task, network, images, n_draws)
    z_dl = (draws - MEAN) / STD
    log(f"  {dl.seconds:.1f} s: {rate(n, dl.seconds):,.0f} images/s, {rate(n * n_draws, dl.seconds):,.0f} draws/s, leakage {leaked:.3f}, "
        f"each image embedded {embedded.images / n:.2f} times")
    del draws

    log("draws: sbi's DirectPosterior.sample_batched on all embeddings at once")
    sbi_draws(posterior, embed(network, images[:BATCH]), n_draws)  # warm-up
    with Section() as emb:
        embeddings = embed(network, images)
    with Section() as whole:
        z_sbi = sbi_draws(posterior, embeddings, n_draws).numpy()
    sbi_s = emb.seconds + whole.seconds
    log(f"  embedding {emb.seconds:.1f} s + sampling {whole.seconds:.1f} s: {rate(n, sbi_s):,.0f} images/s, "
        f"{rate(n * n_draws, sbi_s):,.0f} draws/s")

    log(f"draws: sbi's sample_batched per {BATCH} embeddings")
    with Section() as chunked:
        z_chunk = sbi_draws(posterior, embeddings, n_draws, BATCH).numpy()
    chunk_s = emb.seconds + chunked.seconds
    log(f"  embedding {emb.seconds:.1f} s (above) + sampling {chunked.seconds:.1f} s: {rate(n * n_draws, chunk_s):,.0f} draws/s")

    def check(z) -> dict:  # the same posterior each way: compare the draws' moments, all inside the prior
        return {"mean": float(z.mean()), "std": float(z.std()), "inside_prior": bool(((z >= low) & (z <= high)).all())}

    def figures(section_s: float, **extra) -> dict:
        return {"seconds": section_s, "images_per_s": rate(n, section_s), "draws_per_s": rate(n * n_draws, section_s)} | extra

    result = {
        "deeplense": figures(dl.seconds, embeddings_per_image=embedded.images / n, others_cores=dl.others_cores),
        "sbi_in_memory": figures(sbi_s, embed_s=emb.seconds, sample_s=whole.seconds, sample_draws_per_s=rate(n * n_draws, whole.seconds),
                                 others_cores=(emb.others_cores * emb.seconds + whole.others_cores * whole.seconds) / sbi_s),
        "sbi_in_memory_batches_of_128": figures(chunk_s, sample_s=chunked.seconds, others_cores=chunked.others_cores),
        "leakage": leaked,
        "standardised_draws": {"deeplense": check(z_dl), "sbi_in_memory": check(z_sbi), "sbi_in_memory_batches_of_128": check(z_chunk)},
    }
    result["ratio_deeplense_over_sbi"] = result["deeplense"]["draws_per_s"] / result["sbi_in_memory"]["draws_per_s"]
    result["ratio_deeplense_over_sbi_batches_of_128"] = result["deeplense"]["draws_per_s"] / result["sbi_in_memory_batches_of_128"]["draws_per_s"]
    log(f"  deeplense / sbi draws/s: {result['ratio_deeplense_over_sbi']:.2f} (all at once), "
        f"{result['ratio_deeplense_over_sbi_batches_of_128']:.2f} (per {BATCH})")
    return result


def diagnostics_benchmark(task, network, prior, posterior, images, n_draws: int, seed: int) -> dict:
    import torch
    from sbi.diagnostics.sbc import _run_sbc, check_sbc, check_uniformity_frequentist, run_sbc
    from sbi.diagnostics.tarp import _run_tarp, check_tarp, get_tarp_references, run_tarp

    from deeplense.inference.calibration import calibration, ranks_from_draws, tarp

    n = len(images)
    names = [TARGET]
    torch.manual_seed(seed)
    thetas = prior.sample((n,))  # standardised truths
    truth = thetas.double().numpy() * STD + MEAN
    quiet = warnings.catch_warnings()

    def deeplense_diagnostics(draws):
        ranks = ranks_from_draws(draws, truth[:len(draws)])
        return calibration(ranks / n_draws, names, ranks=ranks, n_draws=n_draws), tarp(draws, truth[:len(draws)], seed)

    def sbi_diagnostics(xs, k=None):
        k = k or len(xs)
        ranks, dap = run_sbc(thetas[:k], xs, posterior, num_posterior_samples=n_draws, reduce_fns="marginals", num_workers=1,
                             show_progress_bar=False)
        return ranks, dap, check_uniformity_frequentist(ranks, n_draws)

    def sbi_tarp(xs, k=None):
        k = k or len(xs)
        ecp, alpha = run_tarp(thetas[:k], xs, posterior, references=None, num_posterior_samples=n_draws, num_workers=1,
                              show_progress_bar=False)
        return check_tarp(ecp, alpha)

    with quiet:
        warnings.filterwarnings("ignore", message=".*(batched sampling|Capping max_sampling_batch_size|on the order of 100s|less than 100).*")
        log(f"diagnostics: {n:,} test images × {n_draws:,} draws, deeplense")
        deeplense_diagnostics(deeplense_draws(task, network, images[:WARM], n_draws)[0])  # warm-up
        with Section() as dl_draw, EmbeddedImages(network) as embedded:
            draws, _ = deeplense_draws(task, network, images, n_draws)
        dl_diag = best(lambda: deeplense_diagnostics(draws))
        cal, joint = dl_diag.value
        log(f"  drawing {dl_draw.seconds:.1f} s + diagnostics {dl_diag.seconds:.2f} s (KS p {cal['sbc_ks_p_min']:.3g}, TARP ATC {joint['atc']:.3g})")

        log("diagnostics: sbi's run_sbc + check_uniformity_frequentist, run_tarp + check_tarp on in-memory embeddings")
        xs = embed(network, images[:WARM])  # warm-up
        sbi_diagnostics(xs)
        sbi_tarp(xs)
        with Section() as emb:
            xs = embed(network, images)
        with Section() as sbc:
            ranks, dap, ks = sbi_diagnostics(xs)
        with Section() as tp:
            atc, ks_tarp = sbi_tarp(xs)
        sbi_total = emb.seconds + sbc.seconds + tp.seconds
        log(f"  embedding {emb.seconds:.1f} s + SBC {sbc.seconds:.1f} s + TARP {tp.seconds:.1f} s (KS p {float(ks.min()):.3g}, TARP ATC {float(atc):.3g})")

        samples = torch.as_tensor(np.ascontiguousarray(np.moveaxis((draws - MEAN) / STD, 1, 0)), dtype=torch.float32)
        def sbi_cores():
            alone_ranks = _run_sbc(thetas, xs, samples, "marginals", show_progress_bar=False)
            check_uniformity_frequentist(alone_ranks, n_draws)
            torch.manual_seed(seed)
            check_tarp(*_run_tarp(samples, thetas, get_tarp_references(thetas), z_score_theta=True))
            return alone_ranks

        alone = best(sbi_cores)
        alone_ranks = alone.value
        log(f"  sbi's sample-based cores on deeplense's draws: {alone.seconds:.2f} s")
        with Section() as full_check:
            check_sbc(ranks, prior.sample((n,)), dap, num_posterior_samples=n_draws)
        log(f"  sbi's full check_sbc (with C2ST): {full_check.seconds:.1f} s")

    dl_total = dl_draw.seconds + dl_diag.seconds
    same_ranks = bool(np.array_equal(alone_ranks.numpy().astype(int), ranks_from_draws(draws, truth)))
    result = {
        "images": n,
        "draws_per_image": n_draws,
        "deeplense": {"draw_s": dl_draw.seconds, "diagnostics_s": dl_diag.seconds, "total_s": dl_total,
                      "embeddings_per_image": embedded.images / n, "others_cores": dl_draw.others_cores},
        "sbi_in_memory": {"embed_s": emb.seconds, "run_sbc_and_check_s": sbc.seconds, "run_tarp_and_check_s": tp.seconds,
                          "total_s": sbi_total, "diagnostics_alone_s": alone.seconds, "check_sbc_s": full_check.seconds,
                          "others_cores": (emb.others_cores * emb.seconds + sbc.others_cores * sbc.seconds + tp.others_cores * tp.seconds) / sbi_total},
        "ratio_deeplense_over_sbi_seconds": {"total": dl_total / sbi_total, "diagnostics_alone": dl_diag.seconds / alone.seconds},
        "same_ranks_on_same_draws": same_ranks,
    }
    log(f"  deeplense / sbi seconds: total {result['ratio_deeplense_over_sbi_seconds']['total']:.2f}, "
        f"diagnostics alone {result['ratio_deeplense_over_sbi_seconds']['diagnostics_alone']:.3f}")
    return result


def rounded(value):
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, float):
        if abs(value) < 0.01:
            return float(f"{value:.2g}")
        return round(value, 3) if abs(value) < 100 else round(value)
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="under a minute: 512 images × 200 draws, diagnostics on 256")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    parser.add_argument("--images", type=int, help="images drawn for (default 10,000; quick 512)")
    parser.add_argument("--draws", type=int, help="draws per image (default 1,000; quick 200)")
    parser.add_argument("--test-images", type=int, help="images of the diagnostics (default 2,000; quick 256)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    n = args.images or (512 if args.quick else 10_000)
    n_draws = args.draws or (200 if args.quick else 1_000)
    n_test = args.test_images or (256 if args.quick else 2_000)

    import torch

    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    load = os.getloadavg()
    with torch.no_grad():
        log(f"building {ARCHITECTURE} + sbi {SETTINGS['estimator']}; fitting the flow to the prior ({FIT_STEPS} steps)")
        with torch.enable_grad(), Section() as setup:
            task, network, prior, posterior = build(args.seed)
        log(f"  {setup.seconds:.1f} s")
        generator = torch.Generator().manual_seed(args.seed)
        images = torch.rand(n, 1, NUM_PIX, NUM_PIX, generator=generator)
        test_images = torch.rand(n_test, 1, NUM_PIX, NUM_PIX, generator=generator)
        draws = draws_benchmark(task, network, posterior, images, n_draws)
        del images
        diagnostics = diagnostics_benchmark(task, network, prior, posterior, test_images, n_draws, args.seed)
    import sbi

    result = {
        "benchmark": "posterior", "quick": args.quick, "cpu": cpu_description(args.threads), "threads": args.threads,
        "architecture": ARCHITECTURE, "image_size": NUM_PIX, "batch": BATCH, "estimator": SETTINGS, "sbi": sbi.__version__,
        "flow_fit_steps": FIT_STEPS, "setup_s": setup.seconds, "images": n, "draws_per_image": n_draws, **draws, "diagnostics": diagnostics,
        "load_average_1min": {"start": load[0], "end": os.getloadavg()[0]}, "wall_s": time.perf_counter() - start,
    }
    log(f"done in {result['wall_s']:.0f} s")
    emit(rounded(result))


if __name__ == "__main__":
    main()
