"""Where a number comes from: the git commit of the code that produced it, and the hash of the
model's configuration. Never fails: outside a git checkout the commit is ``"unknown"``."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path
from typing import Any

import deeplense
from deeplense.config import dump_json

PROJECT_DIR = Path(deeplense.__file__).resolve().parents[1]


def git_commit(directory: str | Path = PROJECT_DIR) -> dict[str, Any]:
    """``{"commit": sha or "unknown", "dirty": bool or None}`` of the checkout at ``directory``."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(directory), *args], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return {"commit": "unknown", "dirty": None}
    return {"commit": commit, "dirty": dirty}


def config_hash(model_config: dict[str, Any]) -> str:
    """sha256 of a model's canonical config JSON (sorted keys): equal configs, equal hashes."""
    return hashlib.sha256(dump_json(model_config).encode()).hexdigest()
