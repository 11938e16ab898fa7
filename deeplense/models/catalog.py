"""Which architecture names exist, without importing torch: validating a config must stay fast
(Snakemake parses it before every run; importing timm and torch costs ≈5 s). The names are read
once from timm and the deeplense registry and cached per timm version and per content of the
deeplense.models sources (adding an architecture there refreshes the cache without a version bump)."""

from __future__ import annotations

import hashlib
import json
import os
from importlib.metadata import version
from pathlib import Path

import deeplense


def _sources_fingerprint() -> str:
    digest = hashlib.sha256()
    for source in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(source.name.encode() + source.read_bytes())
    return digest.hexdigest()[:12]


def _cache_path() -> Path:
    root = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "deeplense"
    return root / f"architectures-deeplense{deeplense.__version__}-{_sources_fingerprint()}-timm{version('timm')}.json"


def architecture_names() -> frozenset[str]:
    """All names ``create_model`` accepts: timm's zoo and deeplense-registered architectures."""
    path = _cache_path()
    try:
        return frozenset(json.loads(path.read_text()))
    except (OSError, ValueError):
        pass
    import timm

    from deeplense.models.registry import ARCHITECTURES

    names = sorted(set(timm.list_models()) | set(ARCHITECTURES.names()))
    try:  # a read-only home only costs speed
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(names))
        os.replace(tmp, path)
    except OSError:
        pass
    return frozenset(names)
