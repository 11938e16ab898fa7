"""Where prediction runs: a Dask ``LocalCluster`` (one single-threaded worker process per core), a
running Dask scheduler, or Dask workers submitted as SLURM jobs by dask-jobqueue with the SLURM
profile's settings (account, partition, memory, runtime)."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from deeplense.errors import DeeplenseError

CLUSTERS = ("local", "slurm")
# The project's SLURM profile: in the working directory (a workflow checkout), else beside the package.
DEFAULT_PROFILES = (Path("profiles") / "slurm", Path(__file__).resolve().parents[2] / "profiles" / "slurm")
WORKER_START_TIMEOUT_S = 600
# Each worker process runs torch, BLAS and OpenMP on one thread: the workers are the parallelism.
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


class ClusterError(DeeplenseError):
    """A cluster that cannot be started or reached; the message says which setting to change."""


@dataclass(frozen=True)
class SlurmSettings:
    """What a Dask worker job asks SLURM for: the Snakemake SLURM profile's default resources,
    overridden by its ``set-resources`` of rule ``predict`` and by the command line."""

    account: str | None
    partition: str | None
    mem_mb: int
    runtime_min: int

    @classmethod
    def from_profile(cls, profile: str | Path, **overrides: Any) -> "SlurmSettings":
        path = Path(profile)
        path = path / "config.yaml" if path.is_dir() else path
        try:
            cfg = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError) as e:
            raise ClusterError(f"SLURM profile {path}: cannot be read: {e}") from e
        res = dict(cfg.get("default-resources") or {})
        res |= (cfg.get("set-resources") or {}).get("predict", {})
        res |= {k: v for k, v in overrides.items() if v is not None}
        return cls(res.get("slurm_account"), res.get("slurm_partition"), int(res.get("mem_mb", 4000)), int(res.get("runtime", 60)))

    def walltime(self) -> str:
        return f"{self.runtime_min // 60:02d}:{self.runtime_min % 60:02d}:00"


def _local_cluster(workers: int):
    import dask
    from distributed import LocalCluster

    # The nannies set the workers' environment (not this process's): one thread each. Dask's own
    # MALLOC_TRIM_THRESHOLD_=65536 is dropped: it turns off glibc's adaptive mmap threshold, every
    # activation buffer torch allocates is then mapped and faulted in afresh, and inference runs
    # 2–3× slower. The workers keep glibc's own thresholds.
    environ = {f"distributed.nanny.pre-spawn-environ.{k}": v for k, v in ONE_THREAD.items()}
    with dask.config.set({**environ, "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
        return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                            silence_logs=logging.ERROR, memory_limit=0)


def _slurm_cluster(workers: int, settings: SlurmSettings, log_dir: Path):
    from dask_jobqueue import SLURMCluster

    log_dir.mkdir(parents=True, exist_ok=True)
    return SLURMCluster(
        cores=1, processes=1, memory=f"{settings.mem_mb}MB", walltime=settings.walltime(),
        queue=settings.partition, account=settings.account, python=sys.executable,
        job_script_prologue=[f"export {k}={v}" for k, v in ONE_THREAD.items()],
        log_directory=str(log_dir), silence_logs="error", scheduler_options={"dashboard_address": None},
        nanny=False,  # a nanny would start the worker with MALLOC_TRIM_THRESHOLD_=65536 (see _local_cluster)
    )


@contextmanager
def dask_client(
    workers: int | None = None,
    scheduler: str | None = None,
    cluster: str = "local",
    profile: str | Path | None = None,
    slurm_overrides: dict[str, Any] | None = None,
    log_dir: Path = Path("."),
) -> Iterator[Any]:
    """A ``distributed.Client`` with ``workers`` workers (default: one per core locally, one SLURM
    job otherwise), closed afterwards with whatever cluster it started."""
    from distributed import Client

    if scheduler:
        try:
            client = Client(scheduler, timeout="30s")
        except OSError as e:
            raise ClusterError(f"--scheduler {scheduler}: no Dask scheduler answers there: {e}") from e
        with client:
            yield client
        return
    if cluster not in CLUSTERS:
        raise ClusterError(f"--cluster {cluster!r}: allowed: {', '.join(CLUSTERS)}")
    if cluster == "local":
        n = workers or os.cpu_count() or 1
        with _local_cluster(n) as local, Client(local) as client:
            yield client
        return
    if profile is None:
        profile = next((p for p in DEFAULT_PROFILES if p.exists()), DEFAULT_PROFILES[0])
    settings = SlurmSettings.from_profile(profile, **(slurm_overrides or {}))
    n = workers or 1
    with _slurm_cluster(n, settings, log_dir) as slurm, Client(slurm) as client:
        slurm.scale(jobs=n)
        try:
            client.wait_for_workers(1, timeout=WORKER_START_TIMEOUT_S)
        except TimeoutError:
            raise ClusterError(
                f"no Dask worker started within {WORKER_START_TIMEOUT_S} s of submitting {n} SLURM job(s) to partition "
                f"{settings.partition} (account {settings.account}, {settings.mem_mb} MB); check `squeue`, the job logs in "
                f"{log_dir}, and the partition and account (--slurm-partition, --slurm-account or the profile's default-resources)"
            ) from None
        yield client
