"""Stable integer keys of names, for seeding: Python's ``hash()`` is salted per process, so every
random stream keyed by a name (a dataset, a class) goes through ``name_key`` instead. Shared by
the image seeds (deeplense.simulation.seeds) and the splits (deeplense.data.splits)."""

from __future__ import annotations

import hashlib


def name_key(name: str) -> int:
    """A stable 64-bit integer for a name: the first 8 bytes of its sha256, little-endian."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "little")
