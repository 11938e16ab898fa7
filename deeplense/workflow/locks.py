"""Stale Snakemake locks: a run killed hard (SIGKILL, a node dying) leaves `.snakemake/locks`
behind and Snakemake refuses to start until `snakemake --unlock`. This removes such a lock, but
only when no live Snakemake process works in that directory, so restarting is the same command."""

from __future__ import annotations

import os
from pathlib import Path


def snakemake_running_in(workdir: Path) -> list[int]:
    """PIDs of Snakemake processes whose working directory is ``workdir`` (Linux /proc)."""
    target = workdir.resolve()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
            if b"snakemake" not in cmdline or b"unlock-stale" in cmdline:
                continue
            if Path(os.readlink(entry / "cwd")).resolve() == target:
                pids.append(int(entry.name))
        except OSError:  # the process ended, or is not ours to read
            continue
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
