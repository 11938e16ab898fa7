"""Compile the simulation's numba kernels ahead of the first run: one tiny image of each pyHalo
scenario (CDM, WDM, SIDM, ULDM) and of the point-mass recipes. numba caches what it compiles
beside the sources, so `make` runs this once when it builds the environment and the first
workflow run does not pay the ≈ 20 s of compilation in every simulation job.

    python -m deeplense.simulation.warmup
"""

from __future__ import annotations

import time

CHEAP_PYHALO = {"log_mlow": 8.0, "cone_opening_angle_arcsec": 3.0, "LOS_normalization": 1.0}
CLASSES = [
    {"name": "cdm", "scenario": "cdm", "params": {"recipe": "pyhalo", **CHEAP_PYHALO}},
    {"name": "wdm", "scenario": "wdm", "params": {"log_mc": 7.5, **CHEAP_PYHALO}},
    {"name": "sidm", "scenario": "sidm", "params": CHEAP_PYHALO},
    {"name": "axion", "scenario": "axion", "params": {"recipe": "pyhalo"}},
    {"name": "vortex", "scenario": "vortex", "params": {}},
]


def warm_up() -> float:
    """Simulate one 16×16 image of each class above; returns the seconds it took."""
    from deeplense.config import DatasetConfig
    from deeplense.simulation.shards import simulate_shard

    start = time.perf_counter()
    dataset = DatasetConfig.model_validate(
        {"instrument": {"num_pix": 16, "pixel_scale": 0.2}, "lens": {"theta_E": 1.0}, "classes": [{**c, "n_images": 1} for c in CLASSES]}
    )
    for cls in dataset.classes:
        simulate_shard(0, dataset, cls, range(1), progress=False)
    return time.perf_counter() - start


if __name__ == "__main__":
    print(f"simulation kernels compiled and cached ({warm_up():.0f} s)")
