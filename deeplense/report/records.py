"""Committed records of finished runs: the small folder (``reproductions/<config>/``) that a quoted
number is read from. It holds every model's metrics.json (with its provenance: config hash, seed,
git commit, software) and its training repeats' (``seeds:``, under ``models/<name>/seeds/<k>/``),
each population's metrics, the leaderboard rows, and ``record.json``: the config file and its hash,
the commits that made the results, the machine, and the run's wall time and job time (from
Snakemake's per-job benchmark files). Results and figures stay in ``results/``;
a record is what the documentation cites and what a test compares the quoted numbers with."""

from __future__ import annotations

import csv
import hashlib
import json
import platform
import re
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from deeplense.atomic import atomic_path
from deeplense.errors import DeeplenseError

RECORD_FILE = "record.json"
RECORD_SCHEMA = 1


class RecordError(DeeplenseError):
    """A run that cannot be recorded (an output missing) or a record that cannot be read."""


def _wall_and_job_seconds(results: Path) -> dict[str, float | int]:
    """The run's span (first job start to last job end) and summed job time, from the per-job
    benchmark files Snakemake writes (a job's file is written when it ends; its ``s`` is its wall time)."""
    starts, ends, total = [], [], 0.0
    for tsv in sorted((results / "benchmarks").rglob("*.tsv")):
        with tsv.open() as f:
            rows = list(csv.DictReader(f, delimiter="\t"))
        if not rows:
            continue
        seconds = float(rows[-1]["s"])
        end = tsv.stat().st_mtime
        starts.append(end - seconds)
        ends.append(end)
        total += seconds
    if not ends:
        return {"jobs": 0}
    finished = datetime.fromtimestamp(max(ends), timezone.utc).isoformat(timespec="seconds")
    return {"jobs": len(ends), "wall_s": round(max(ends) - min(starts), 1), "job_s": round(total, 1), "finished": finished}


def _machine(train_infos: dict[str, Path]) -> dict[str, Any]:
    """The CPU (or GPU) the models trained on, as their train_info.json recorded it."""
    devices: dict[str, Any] = {}
    for name, path in train_infos.items():
        if path.is_file():
            info = json.loads(path.read_text())
            devices[name] = {"device": info.get("device"), "cpu": info.get("cpu"), "threads": info.get("threads")}
    cpus = {json.dumps(d["cpu"], sort_keys=True) for d in devices.values()}
    if len(cpus) == 1:  # one machine trained every model: said once
        for d in devices.values():
            d.pop("cpu")
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": json.loads(cpus.pop()) if len(cpus) == 1 else "per model",
        "models": devices,
    }


REPEAT_KEY = re.compile(r"models/[^/]+/seeds/\d+/metrics\.json")


def is_repeat(key: str) -> bool:
    """Whether a record-relative metrics file is a training repeat's (``models/<name>/seeds/<k>/``)."""
    return REPEAT_KEY.fullmatch(key) is not None


def write_record(config_path: str | Path, seed: int, files: dict[str, Path], train_infos: dict[str, Path],
                 results: str | Path, output: str | Path) -> Path:
    """Copy a finished run's metrics ``files`` (record-relative name → file, as
    deeplense.workflow.records lists them for a config) into ``output`` and describe the run in
    ``record.json``. The folder is replaced in one rename: a failed write leaves the previous record whole."""
    from deeplense.report.leaderboard import LEADERBOARD_FLOAT_FORMAT, leaderboard

    config_path, results, output = Path(config_path), Path(results), Path(output)
    missing = [str(path) for path in files.values() if not path.is_file()]
    if missing:
        raise RecordError(
            f"cannot record an unfinished run: {len(missing)} output(s) missing, e.g. {missing[0]}; "
            "run the workflow on this config to the end first (snakemake --configfile ...)"
        )
    provenance = [json.loads(p.read_text()).get("provenance", {}) for k, p in files.items() if k.startswith("models/")]
    commits = sorted({p["git_commit"] + ("+dirty" if p.get("git_dirty") else "") for p in provenance if "git_commit" in p})
    record = {
        "schema_version": RECORD_SCHEMA,
        "config": config_path.as_posix(),
        "config_sha256": hashlib.sha256(config_path.read_bytes()).hexdigest(),
        "seed": seed,
        "git_commits": commits,
        "recorded": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": _machine(train_infos),
        "time": _wall_and_job_seconds(results),
        "files": sorted(files),
    }
    with atomic_path(output) as tmp:
        for key, path in files.items():
            (tmp / key).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, tmp / key)
        evaluations = [k for k in files if not k.startswith("populations/")]
        repeats = [tmp / k for k in evaluations if is_repeat(k)]
        table = leaderboard([tmp / k for k in evaluations if not is_repeat(k)], seed_metrics=repeats)
        table.to_csv(tmp / "leaderboard.csv", index=False, float_format=LEADERBOARD_FLOAT_FORMAT)
        (tmp / RECORD_FILE).write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    return output


def read_record(folder: str | Path) -> dict[str, Any]:
    """``record.json`` of a committed record, with each recorded metrics file under ``metrics``."""
    folder = Path(folder)
    path = folder / RECORD_FILE
    if not path.is_file():
        raise RecordError(f"{path}: no record here (write one with `deeplense record --config FILE --output {folder}`)")
    record = json.loads(path.read_text())
    if record.get("schema_version") != RECORD_SCHEMA:
        raise RecordError(f"{path}: schema_version {record.get('schema_version')!r}; this deeplense reads {RECORD_SCHEMA}")
    record["metrics"] = {key: json.loads((folder / key).read_text()) for key in record["files"]}
    return record
