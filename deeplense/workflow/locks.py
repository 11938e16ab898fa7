"""Stale Snakemake locks: a run killed hard (SIGKILL, a node dying) leaves `.snakemake/locks`
behind and Snakemake refuses to start until `snakemake --unlock`. This removes such a lock, but
only when no live Snakemake process works in that directory, so restarting is the same command."""

from __future__ import annotations

import os
from pathlib import Path

import psutil


def snakemake_running_in(workdir: Path) -> list[int]:
    """PIDs of Snakemake processes whose working directory is ``workdir``."""
    target = workdir.resolve()
    pids = []
    for proc in psutil.process_iter(["pid", "cmdline", "cwd"]):
        cmdline = " ".join(proc.info["cmdline"] or ())
        if proc.info["pid"] == os.getpid() or "snakemake" not in cmdline or "unlock-stale" in cmdline:
            continue
        if proc.info["cwd"] and Path(proc.info["cwd"]).resolve() == target:  # None: not ours to read
            pids.append(proc.info["pid"])
    return pids


def clear_stale_lock(workdir: str | Path = ".") -> str:
    """Remove ``workdir``'s Snakemake lock if no Snakemake runs there; say what was done."""
    workdir = Path(workdir)
    locks = workdir / ".snakemake" / "locks"
    files = [p for p in locks.iterdir()] if locks.is_dir() else []
    if not files:
        return "no lock"
    running = snakemake_running_in(workdir)
    if running:
        return f"locked by running Snakemake (pid {', '.join(map(str, running))}): left alone"
    for path in files:
        path.unlink()
    return f"removed a stale lock left by a killed run ({len(files)} files)"
