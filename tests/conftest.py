"""Shared fixtures: a tiny real dataset (lenstronomy images in a real Zarr store), built once;
the PyAutoLens environment; a real one-node SLURM cluster."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from deeplense.config import ExperimentConfig
from deeplense.experiment import load_config
from deeplense.physics.records import record_attrs
from deeplense.simulation.backends import autolens_executable
from deeplense.simulation.shards import shard_count, shard_range, simulate_shard
from deeplense.storage.dataset_store import ClassShards, combine_shards
from deeplense.storage.shard_store import write_shard
from tests.slurm_cluster import SlurmCluster, running, unavailable_reason

ROOT = Path(__file__).resolve().parents[1]
TINY_CONFIG = ROOT / "tests" / "configs" / "tiny.yaml"


def small_config(n: int = 12, num_pix: int = 24, seed: int = 3) -> ExperimentConfig:
    """Three classes of ``n`` small images; cheap enough to simulate inside a test."""
    return load_config(
        {
            "seed": seed,
            "simulation": {"shard_size": 5},
            "storage": {"chunk_images": 8},
            "datasets": {
                "small": {
                    "instrument": {"num_pix": num_pix, "pixel_scale": 0.2, "psf_fwhm": 0.2},
                    "classes": [
                        {"name": "no_sub", "scenario": "no_sub", "n_images": n},
                        {"name": "cdm", "scenario": "cdm", "n_images": n, "params": {"n_subhalos": 5}},
                        {"name": "vortex", "scenario": "vortex", "n_images": n, "params": {"n_points": 10}},
                    ],
                }
            },
        }
    )


def build_store(cfg: ExperimentConfig, root: Path, dataset: str = "small") -> tuple[Path, list[ClassShards]]:
    """Simulate every shard and combine them, as the workflow's rules do."""
    ds = cfg.datasets[dataset]
    shards = []
    for cls in ds.classes:
        paths = []
        for shard in range(shard_count(cls.n_images, cfg.simulation.shard_size)):
            result = simulate_shard(cfg.seed, ds, cls, shard_range(cls.n_images, cfg.simulation.shard_size, shard), progress=False)
            path = root / "shards" / cls.name / f"{shard:04d}.zarr"
            write_shard(result, path, cls.name, record_attrs(ds))
            paths.append(path)
        shards.append(ClassShards(cls.name, cls.n_images, paths))
    store = root / "dataset.zarr"
    combine_shards(
        shards,
        store,
        dataset_name=dataset,
        dataset_config=ds.model_dump(mode="json"),
        seed=cfg.seed,
        image_shape=ds.instrument.image_shape,
        storage=cfg.storage,
    )
    return store, shards


@pytest.fixture(scope="session")
def small_cfg() -> ExperimentConfig:
    return small_config()


@pytest.fixture(scope="session")
def small_store(small_cfg, tmp_path_factory) -> Path:
    store, _ = build_store(small_cfg, tmp_path_factory.mktemp("small"))
    return store


@pytest.fixture(scope="session")
def autolens_deeplense() -> Path:
    """The `deeplense` of PyAutoLens's environment; missing: a failure under `make test`."""
    exe = autolens_executable()
    if not exe.exists():
        message = f"PyAutoLens environment missing ({exe}): build it with `make autolens-env`"
        if os.environ.get("DEEPLENSE_REQUIRE_AUTOLENS"):
            pytest.fail(message)
        pytest.skip(message)
    return exe


@pytest.fixture(scope="session")
def slurm_cluster() -> Iterator[SlurmCluster]:
    """A one-node SLURM cluster (munged, slurmctld, slurmd) for the whole session, stopped at
    its end: see tests/slurm_cluster.py, whose :class:`~tests.slurm_cluster.SlurmCluster` it
    yields (``env``, ``partition``, ``cpus``, ``mem_mb``; a stable interface). SLURM missing
    (Debian: `apt-get install slurm-wlm munge`, which `make test` does) or not root: skipped,
    and a failure under `make test` (DEEPLENSE_REQUIRE_SLURM)."""
    message = unavailable_reason()
    if message:
        if os.environ.get("DEEPLENSE_REQUIRE_SLURM"):
            pytest.fail(message)
        pytest.skip(message)
    with running() as cluster:
        yield cluster


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The files with the most end-to-end tests (whole workflow runs, the longest) first, each
    file's tests kept together and in their order: `make test` hands whole files to its two
    pytest-xdist workers in this order (``--dist loadfile --no-loadscope-reorder``), so the two
    longest files start at once on different workers and neither is left waiting at the end."""
    e2e_per_file = Counter(item.path for item in items if item.get_closest_marker("e2e"))
    items.sort(key=lambda item: -e2e_per_file[item.path])
