"""PyAutoLens against lenstronomy for the same scenarios (``python benchmarks/simulate.py --backends``).

Per image, one core, CPU time (median over the images), alternating so that machine-load drift
affects all alike:
- ``lenstronomy``: deeplense's ``simulate_image`` with backend lenstronomy;
- ``autolens``: the same with backend autolens (padded grid and PSF built once per dataset);
- ``autolens_naive``: the same with the grid and PSF rebuilt for every image;
- ``autolens_script``: the usual PyAutoLens script per image: ``Grid2D.uniform`` +
  ``Convolver.from_gaussian`` + ``SimulatorImaging.via_tracer_from`` (noise included).
The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
GRIDS = {64: 0.1, 150: 0.05}  # num_pix: pixel scale [arcsec]


def _reexec_in_autolens_env() -> None:
    """Run this benchmark again with PyAutoLens's Python (it also holds lenstronomy)."""
    from deeplense.simulation.backends import autolens_executable

    python = autolens_executable().with_name("python")
    if not python.exists():
        raise SystemExit(f"PyAutoLens environment missing ({python}): build it with `make autolens-env`")
    os.execv(str(python), [str(python), *sys.argv])


def model_a(backend: str, num_pix: int):
    """The PyAutoLens Model A dataset on a ``num_pix`` grid, rendered by ``backend``."""
    from deeplense.experiment import load_config

    raw = yaml.safe_load((ROOT / "configs" / "presets" / "autolens_model_a.yaml").read_text())
    ds = raw["datasets"]["model_a"]
    ds["backend"] = backend
    ds["instrument"].update(num_pix=num_pix, pixel_scale=GRIDS[num_pix])
    return load_config(raw).datasets["model_a"]


def autolens_script(dataset, cls, seed: int) -> np.ndarray:
    """What a PyAutoLens user writes per image: grid, PSF and simulator, then the tracer."""
    import autolens as al

    from deeplense.simulation import autolens_mapping as mapping
    from deeplense.simulation.autolens_renderer import light_galaxy, mass_galaxy
    from deeplense.physics.system import draw_system
    from deeplense.simulation.seeds import image_streams

    system, _ = draw_system(dataset, cls, image_streams(seed))
    inst = dataset.instrument
    k = mapping.psf_kernel_pixels(inst.psf_fwhm, inst.pixel_scale)
    grid = al.Grid2D.uniform(shape_native=(inst.num_pix, inst.num_pix), pixel_scales=inst.pixel_scale, over_sample_size=inst.supersampling)
    psf = al.Convolver.from_gaussian(shape_native=(k, k), pixel_scales=inst.pixel_scale, sigma=inst.psf_fwhm / mapping.FWHM_PER_SIGMA, normalize=True)
    simulator = al.SimulatorImaging(exposure_time=300.0, psf=psf, background_sky_level=0.1, add_poisson_noise_to_data=True, noise_seed=seed % 2**31)
    lens = mass_galaxy(system)
    galaxies = [lens, light_galaxy(system.source_light, system.z_source), light_galaxy(system.lens_light, system.z_lens)]
    return np.asarray(simulator.via_tracer_from(tracer=al.Tracer(galaxies=galaxies), grid=grid).data.native)


def compare_backends(quick: bool) -> None:
    if importlib.util.find_spec("autolens") is None:
        _reexec_in_autolens_env()
    from deeplense.simulation import autolens_renderer
    from deeplense.simulation.image import simulate_image

    warnings.filterwarnings("ignore", message="No blurring_image provided")  # the script's SimulatorImaging

    n = 3 if quick else 40
    results: dict[str, dict] = {}
    print(f"{'class':8s} {'size':>7s} {'lenstronomy':>12s} {'autolens':>9s} {'naive':>7s} {'script':>7s}  img/s; "
          f"{'lens/al':>7s} {'al/naive':>8s} {'al/script':>9s}")
    for size in (64, 150):
        ours, theirs = model_a("autolens", size), model_a("lenstronomy", size)
        for ci, cls in enumerate(ours.classes):
            cls_l = theirs.classes[ci]
            runs = {
                "lenstronomy": lambda i: simulate_image(theirs, cls_l, 1000 + i),
                "autolens": lambda i: simulate_image(ours, cls, 1000 + i),
                "autolens_naive": lambda i: (autolens_renderer._frame.cache_clear(), simulate_image(ours, cls, 1000 + i)),
                "autolens_script": lambda i: autolens_script(ours, cls, 1000 + i),
            }
            for run in runs.values():  # warm up: imports, caches, numba compilation
                run(0)
            times: dict[str, list[float]] = {name: [] for name in runs}
            for i in range(n):
                for name, run in runs.items():
                    start = time.process_time()
                    run(i)
                    times[name].append(time.process_time() - start)
            rate = {name: 1.0 / float(np.median(t)) for name, t in times.items()}  # robust to load spikes
            key = f"{cls.name}@{size}"
            results[key] = {
                **{f"{name}_img_per_s": round(r, 3) for name, r in rate.items()},
                "lenstronomy_over_autolens": round(rate["lenstronomy"] / rate["autolens"], 2),
                "autolens_reuse_speedup": round(rate["autolens"] / rate["autolens_naive"], 2),
                "autolens_over_script": round(rate["autolens"] / rate["autolens_script"], 2),
                "n_images": n,
            }
            r = results[key]
            print(f"{cls.name:8s} {size:>3d}×{size:<3d} {rate['lenstronomy']:12.2f} {rate['autolens']:9.2f} "
                  f"{rate['autolens_naive']:7.2f} {rate['autolens_script']:7.2f}        {r['lenstronomy_over_autolens']:7.2f} "
                  f"{r['autolens_reuse_speedup']:8.2f} {r['autolens_over_script']:9.2f}", flush=True)
    from importlib.metadata import version

    print(json.dumps({"benchmark": "simulate_backends", "mode": "quick" if quick else "full", "unit": "images/s per core",
                      "versions": {p: version(p) for p in ("autolens", "lenstronomy", "jax", "numpy")},
                      "load_average_1min": os.getloadavg()[0], "results": results}, sort_keys=True))
