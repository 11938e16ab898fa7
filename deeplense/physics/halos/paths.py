"""Which code computed each halo: the fast array path or pyHalo's per-halo code.

Where the fast path does not cover a halo kind (a profile class, concentration or truncation model
it does not reproduce), pyHalo's own per-halo code computes those halos. Every such fallback is
logged (the step, the halo classes not covered and how many) and counted, so the image's record
says how many halos each path computed (``n_halos_fast``, ``n_halos_pyhalo``).
"""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)

# the steps that can fall back: lens parameters of all halos, and pyHalo's SIDM core-collapse step
PARAMETERS = "halo lens parameters"
COLLAPSE = "SIDM core collapse"


@dataclass
class Tally:
    """Fallbacks to pyHalo's per-halo code while one realization is drawn: halos whose
    core-collapse step pyHalo did (``collapsed_by_pyhalo``) and each fallback's description."""

    collapsed_by_pyhalo: int = 0
    fallbacks: list[str] = field(default_factory=list)


_current: ContextVar[Tally | None] = ContextVar("deeplense_halo_paths", default=None)


@contextlib.contextmanager
def tally() -> Iterator[Tally]:
    """Count the fallbacks made inside the block (one realization)."""
    counts = Tally()
    token = _current.set(counts)
    try:
        yield counts
    finally:
        _current.reset(token)


def uncovered_classes(halos: list) -> Counter[str]:
    """Halo class names and counts, for a fallback's message."""
    return Counter(type(h).__name__ for h in halos)


def fallback(step: str, uncovered: Counter[str], n_halos: int, reason: str = "") -> None:
    """Log that pyHalo's per-halo code computes ``n_halos`` halos at ``step`` because the fast path
    does not cover ``uncovered`` (halo class -> count), and count it in the open :func:`tally`."""
    classes = ", ".join(f"{n} {name}" for name, n in sorted(uncovered.items()))
    which = f"all {n_halos} halos of the realization" if step == PARAMETERS else f"the {n_halos} halos it collapses"
    message = (f"{step}: the fast halo path does not cover {classes}{f' ({reason})' if reason else ''}; "
               f"pyHalo's per-halo code computes {which}")
    logger.warning(message)
    counts = _current.get()
    if counts is not None:
        counts.fallbacks.append(message)
        if step == COLLAPSE:
            counts.collapsed_by_pyhalo += n_halos
