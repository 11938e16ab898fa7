"""Named points where a job can be made to stop and wait to be killed, so that fault tests kill a
run at an exact place (after a shard is written, before a store is renamed, mid-epoch) instead of
racing it with a timer.

Off unless the environment names the point: with ``DEEPLENSE_PAUSE_AT=<point>`` a process that
reaches ``pause_point("<point>")`` writes its pid to the file ``DEEPLENSE_PAUSE_MARKER`` and sleeps
until it is killed. Jobs inherit the variables from the Snakemake process they run under.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

PAUSE_VARIABLE = "DEEPLENSE_PAUSE_AT"
MARKER_VARIABLE = "DEEPLENSE_PAUSE_MARKER"
POINTS = ("simulate.shard_written", "store.before_rename", "train.step_done", "train.epoch_saved", "search.trial_started", "predict.block_written")


def pause_point(name: str) -> None:
    """Wait here for a kill when the environment names this point; otherwise return at once."""
    if name not in POINTS:
        raise ValueError(f"unknown pause point {name!r}; allowed: {', '.join(POINTS)}")
    if os.environ.get(PAUSE_VARIABLE) != name:
        return
    marker = Path(os.environ[MARKER_VARIABLE])
    tmp = marker.with_name(f".{marker.name}.{os.getpid()}")
    tmp.write_text(str(os.getpid()))
    os.replace(tmp, marker)  # the marker appears whole: the waiting test may kill at once
    while True:
        time.sleep(3600)
