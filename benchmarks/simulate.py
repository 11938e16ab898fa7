"""Simulation speed: images per second per core, deeplense against the plain loop peers write.

For every scenario at 64×64 and 150×150, one image of deeplense (``simulate_image``: draw, pyHalo
population with all halo parameters at once, deeplense's multi-plane ray tracing inside
lenstronomy's image model, noise, record) and one image of the peer loop are made in turn, in
this one process (one core: one numba thread, one BLAS thread), and their CPU times recorded side
by side. The peer loop is the usual script: for pyHalo scenarios ``np.random.seed`` → preset →
``realization.lensing_quantities()`` → a multi-plane lenstronomy ``ImageModel`` image with noise
(inside ``pyhalo_compat.patched(speed=False)``: numpy's ``trapz`` restored, nothing else); for
point-mass recipes the masses are drawn with numpy and turned into lenstronomy ``POINT_MASS``
deflectors with ``LensCosmo``. Both make the same physics (same presets and parameters, same
grid, PSF and noise model).

Each deeplense image's CPU time is split into phases (timers around the package's functions):
``population`` (pyHalo's preset: halo masses, positions, redshifts; or a recipe's draws),
``halo_parameters`` (lens-model parameters of all halos, SIDM core collapse included),
``ray_tracing`` (deeplense's tracer: set-up and rays) and ``light_psf_noise`` (the rest: light
profiles, supersampling, PSF convolution, noise, record). Peak memory of a simulation job
(``--memory-probe``: a fresh process simulating images of one scenario) is reported at 150×150.
``halos_per_path`` counts the timed images' halos whose lens parameters the fast path and
pyHalo's per-halo code (a logged fallback) computed, per scenario and in all.

    python benchmarks/simulate.py            # pyHalo presets at their defaults (~5 minutes)
    python benchmarks/simulate.py --quick    # cheap pyHalo settings, fewer images (< 1 minute)
    python benchmarks/simulate.py --backends [--quick]   # PyAutoLens beside lenstronomy

``--backends`` renders the PyAutoLens Model A classes (no_sub, sphere, vort) at 64×64 and 150×150
with both backends, side by side, and PyAutoLens three ways: deeplense's renderer (grid and PSF
built once per dataset), the same with them rebuilt for every image (naive), and the usual
PyAutoLens script (``Grid2D`` + ``Convolver`` + ``SimulatorImaging`` per image). It runs in
PyAutoLens's environment (.venv-autolens, which also holds lenstronomy) and re-executes itself
there when started from another.

The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one core per image, as in a simulation job

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402

from deeplense.experiment import load_config  # noqa: E402
from deeplense.physics import pyhalo_adapter, pyhalo_compat  # noqa: E402
from deeplense.physics.cosmology import flat_lcdm  # noqa: E402
from deeplense.simulation.image import simulate_image  # noqa: E402
from _common import PHASES, PhaseTimer  # noqa: E402  (benchmarks/_common.py)

Z_LENS, Z_SOURCE = 0.5, 1.0
GRIDS = {64: 0.1, 150: 0.05}  # num_pix: pixel scale [arcsec]
FWHM, BACKGROUND, EXPOSURE = 0.1, 0.01, 1000.0
MAIN = {"theta_E": 1.2, "e1": 0.1, "e2": 0.0, "center_x": 0.0, "center_y": 0.0}
SHEAR = {"gamma1": 0.05, "gamma2": 0.0}
SOURCE = {"amp": 10.0, "R_sersic": 0.25, "n_sersic": 1.0, "e1": -0.1, "e2": 0.1, "center_x": 0.1, "center_y": -0.05}
DEFAULTS = {"log_mlow": 6.0, "cone_opening_angle_arcsec": 6.0, "LOS_normalization": 1.0}
CHEAP = {"log_mlow": 7.5, "cone_opening_angle_arcsec": 4.0, "LOS_normalization": 0.5}


def scenarios(pyhalo: dict) -> dict[str, tuple[str, dict, str | None, dict]]:
    """name -> (deeplense scenario, its params, pyHalo preset or None, the preset's kwargs)."""
    sidm = {"mass_ranges_subhalos": [[6, 8], [8, 10]], "probabilities_subhalos": [0.5, 0.9],
            "mass_ranges_field_halos": [[6, 8], [8, 10]], "probabilities_field_halos": [0.3, 0.5],
            "collapsed_halo_profile": "TNFWC", "x_core_halo": 0.05, "log_slope_halo": 3.0}
    return {
        "no_sub": ("no_sub", {}, None, {}),
        "cdm_deeplense": ("cdm", {"recipe": "deeplense"}, None, {}),
        "cdm_pyhalo": ("cdm", {"recipe": "pyhalo", **pyhalo}, "CDM", pyhalo),
        "wdm": ("wdm", {"log_mc": 7.5, **pyhalo}, "WDM", {**pyhalo, "log_mc": 7.5}),
        "sidm": ("sidm", pyhalo, "SIDM_core_collapse", {**pyhalo, **sidm}),
        "vortex": ("vortex", {"n_points": 100, "mass": 3e10, "length": 1.0}, None, {}),
        "axion_deeplense": ("axion", {"recipe": "deeplense", "log10_m_axion": -23.0}, None, {}),
        "axion_pyhalo": ("axion", {"recipe": "pyhalo", "log10_m_axion": -21.0, **pyhalo}, "ULDM",
                         {**pyhalo, "log10_m_uldm": -21.0, "flucs": False}),
    }


# ---- the peer loop -----------------------------------------------------------------------------
class PeerLoop:
    """What a typical simulation script does per image, with lenstronomy and pyHalo directly."""

    def __init__(self, num_pix: int, pixel_scale: float) -> None:
        from lenstronomy.Cosmo.lens_cosmo import LensCosmo
        from lenstronomy.Data.imaging_data import ImageData
        from lenstronomy.Data.psf import PSF
        from lenstronomy.Util import simulation_util

        self.cosmo = flat_lcdm(70.0, 0.3, 0.05)
        self.lens_cosmo = LensCosmo(Z_LENS, Z_SOURCE, cosmo=self.cosmo)
        self.data = ImageData(**simulation_util.data_configure_simple(num_pix, pixel_scale, EXPOSURE, BACKGROUND))
        self.psf = PSF(psf_type="GAUSSIAN", fwhm=FWHM, pixel_size=pixel_scale, truncation=5)

    def image(self, lens_list: list, kwargs_lens: list, z_list: list | None) -> np.ndarray:
        from lenstronomy.ImSim.image_model import ImageModel
        from lenstronomy.LensModel.lens_model import LensModel
        from lenstronomy.LightModel.light_model import LightModel
        from lenstronomy.Util import image_util

        if z_list is None:
            lens_model = LensModel(lens_list)
        else:
            lens_model = LensModel(lens_list, z_source=Z_SOURCE, lens_redshift_list=z_list, cosmo=self.cosmo, multi_plane=True)
        model = ImageModel(self.data, self.psf, lens_model_class=lens_model, source_model_class=LightModel(["SERSIC_ELLIPSE"]))
        image = model.image(kwargs_lens, [SOURCE])
        return image + image_util.add_poisson(image, EXPOSURE) + image_util.add_background(image, BACKGROUND)

    def point_masses(self, masses: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[list, list]:
        kwargs = [{"theta_E": float(np.sqrt(m / self.lens_cosmo.mass_in_theta_E(1.0))), "center_x": float(px), "center_y": float(py)}
                  for m, px, py in zip(masses, x, y)]
        return ["POINT_MASS"] * len(kwargs), kwargs

    def run(self, name: str, preset: str | None, kwargs: dict, seed: int) -> np.ndarray:
        np.random.seed(seed)
        lens, kw, z = ["SIE", "SHEAR"], [MAIN, SHEAR], None
        if preset is not None:
            with pyhalo_compat.patched(speed=False):  # pyHalo 1.4.6 on numpy 2.4 needs np.trapz back
                realization = pyhalo_adapter.preset_function(preset)(Z_LENS, Z_SOURCE, kwargs_cosmo={"H0": 70.0, "Om0": 0.3, "Ob0": 0.05}, **kwargs)
                names, z_list, kwargs_halos, _ = realization.lensing_quantities()
            lens, kw, z = lens + list(names), kw + list(kwargs_halos), [Z_LENS, Z_LENS, *z_list]
        elif name == "cdm_deeplense":
            u = np.random.uniform(size=25)
            k = -0.9
            masses = (1e6**k + u * (1e10**k - 1e6**k)) ** (1 / k)
            r, phi = np.random.uniform(0.25, 2.0, 25), np.random.uniform(0, 2 * np.pi, 25)
            names, kwargs_pm = self.point_masses(masses, r * np.cos(phi), r * np.sin(phi))
            lens, kw = lens + names, kw + kwargs_pm
        elif name in ("vortex", "axion_deeplense"):
            length = 1.0 if name == "vortex" else 2 * 0.03 * 10
            angle = np.random.uniform(0, np.pi)
            s = np.linspace(-length / 2, length / 2, 100)
            names, kwargs_pm = self.point_masses(np.full(100, 3e8), s * np.cos(angle), s * np.sin(angle))
            lens, kw = lens + names, kw + kwargs_pm
        return self.image(lens, kw, z)


# ---- measurement -------------------------------------------------------------------------------
def cpu_seconds(func: Callable[[], object]) -> float:
    start = time.process_time()
    func()
    return time.process_time() - start


def deeplense_dataset(num_pix: int, pixel_scale: float, scenario: str, params: dict):
    cfg = load_config({"datasets": {"bench": {
        "lens": {"theta_E": MAIN["theta_E"], "e1": MAIN["e1"], "e2": MAIN["e2"], **SHEAR},
        "source": SOURCE,
        "instrument": {"num_pix": num_pix, "pixel_scale": pixel_scale, "psf_fwhm": FWHM,
                       "background_rms": BACKGROUND, "exposure_time": EXPOSURE},
        "classes": [{"name": "c", "scenario": scenario, "n_images": 1, "params": params}],
    }}})
    ds = cfg.datasets["bench"]
    return ds, ds.classes[0]


def memory_probe(name: str, size: int, quick: bool, n: int = 3) -> dict:
    """Peak resident memory [MB] of a fresh process simulating ``n`` images of scenario ``name``
    at ``size`` (deeplense only), and the mean number of lens components per image."""
    out = subprocess.run([sys.executable, __file__, "--memory-probe", name, str(size), str(n), *(["--quick"] if quick else [])],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _probe(name: str, size: int, n: int, quick: bool) -> None:
    from _common import rss_mb

    scenario, params, _, _ = scenarios(CHEAP if quick else DEFAULTS)[name]
    ds, cls = deeplense_dataset(size, GRIDS[size], scenario, params)
    counts = [simulate_image(ds, cls, 1000 + i).record.get("n_halos", 0.0) for i in range(n)]
    print(json.dumps({"peak_rss_mb": round(rss_mb()[1], 1), "n_halos": float(np.mean(counts))}))


def measure(name: str, scenario: str, params: dict, preset: str | None, preset_kwargs: dict, size: int, n: int) -> dict:
    """Alternate deeplense and peer images (machine-load drift affects both alike)."""
    pixel = GRIDS[size]
    ds, cls = deeplense_dataset(size, pixel, scenario, params)
    peer = PeerLoop(size, pixel)
    # warm up, untimed: deeplense with the measured settings (compiled kernels, tables and memos
    # a process builds once and every later image of its shard reuses), the peer with cheap ones
    # (its imports: it keeps nothing from one image to the next)
    simulate_image(ds, cls, 0)
    peer.run(name, preset, {**preset_kwargs, **CHEAP} if preset else preset_kwargs, 0)
    timer = PhaseTimer()
    t_ours, t_peer, phases, records = [], [], [], []
    for i in range(n):
        with timer:
            t_ours.append(cpu_seconds(lambda: records.append(simulate_image(ds, cls, 1000 + i).record)))
        phases.append(timer.split(t_ours[-1]))
        t_peer.append(cpu_seconds(lambda: peer.run(name, preset, preset_kwargs, 1000 + i)))
    ours, theirs = 1 / np.mean(t_ours), 1 / np.mean(t_peer)
    return {"deeplense_img_per_s": round(ours, 3), "peer_img_per_s": round(theirs, 3), "ratio": round(ours / theirs, 3),
            "n_images": n, "deeplense_s_per_image": [round(t, 4) for t in t_ours],
            "peer_s_per_image": [round(t, 4) for t in t_peer],
            "breakdown_s_per_image": {p: round(float(np.mean([ph[p] for ph in phases])), 4) for p in PHASES},
            **({"halos_per_path": halos_per_path(records)} if preset else {})}


def halos_per_path(records: list[dict]) -> dict[str, int]:
    """Halos whose lens parameters the fast path and pyHalo's per-halo code computed (a logged
    fallback), summed over the timed images' records."""
    return {"fast": int(sum(r["n_halos_fast"] for r in records)), "pyhalo": int(sum(r["n_halos_pyhalo"] for r in records))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="cheap pyHalo settings, few images (< 1 min)")
    parser.add_argument("--only", nargs="*", help="scenario names to run (default: all)")
    parser.add_argument("--backends", action="store_true", help="PyAutoLens against lenstronomy (Model A classes)")
    parser.add_argument("--memory-probe", nargs=3, metavar=("SCENARIO", "SIZE", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.backends:
        from backends import compare_backends  # benchmarks/backends.py

        compare_backends(args.quick)
        return
    if args.memory_probe:
        name, size, n = args.memory_probe
        _probe(name, int(size), int(n), args.quick)
        return
    pyhalo = CHEAP if args.quick else DEFAULTS
    n_cheap, n_pyhalo = (4, 1) if args.quick else (30, 3)
    sizes = (64, 150)
    results: dict[str, dict] = {}
    print(f"{'scenario':18s} {'size':>7s} {'deeplense img/s':>16s} {'peer img/s':>11s} {'ratio':>6s}   "
          + " ".join(f"{p:>15s}" for p in PHASES) + "  peak MB")
    for name, (scenario, params, preset, preset_kwargs) in scenarios(pyhalo).items():
        if args.only and name not in args.only:
            continue
        for size in sizes:
            key = f"{name}@{size}"
            results[key] = r = measure(name, scenario, params, preset, preset_kwargs, size, n_pyhalo if preset else n_cheap)
            if preset and size == 150 and (not args.quick or name == "cdm_pyhalo"):
                r.update(memory_probe(name, size, args.quick))
            b = r["breakdown_s_per_image"]
            print(f"{name:18s} {size:>3d}×{size:<3d} {r['deeplense_img_per_s']:16.3f} {r['peer_img_per_s']:11.3f} "
                  f"{r['ratio']:6.2f}   " + " ".join(f"{b[p]:15.4f}" for p in PHASES)
                  + (f"  {r['peak_rss_mb']:7.0f}" if "peak_rss_mb" in r else ""), flush=True)
    per_path = [r["halos_per_path"] for r in results.values() if "halos_per_path" in r]
    totals = {path: sum(p[path] for p in per_path) for path in ("fast", "pyhalo")}
    print(json.dumps({"benchmark": "simulate", "mode": "quick" if args.quick else "full", "unit": "images/s per core",
                      "phases": "CPU seconds per deeplense image: " + ", ".join(PHASES),
                      "halos_per_path": totals, "pyhalo_settings": pyhalo, "results": results}, sort_keys=True))


if __name__ == "__main__":
    main()
