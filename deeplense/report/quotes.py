"""Tables the documentation quotes, generated from committed records (deeplense.report.records).

A quoted table sits between two markers in a Markdown file::

    <!-- quote: reproductions/demo leaderboard -->
    | model | ... |
    <!-- /quote -->

``deeplense quote --update FILE`` rewrites every such block from its record; ``--check`` fails
(naming the file, the block and the first differing line) when a block and its record disagree,
which is what the test suite runs on the README and the documentation pages. The kinds:
``leaderboard`` (every evaluation's headline metric with its bootstrap interval) and
``populations`` (stacked-posterior coverage and width against the number of lenses)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from deeplense.text_blocks import first_difference
from deeplense.report.records import RecordError, read_record

BLOCK = re.compile(r"(<!-- quote: (?P<record>\S+) (?P<kind>[a-z_]+) -->\n)(?P<body>.*?)(<!-- /quote -->)", re.S)


SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def format_interval(value: float, low: float | None = None, high: float | None = None) -> str:
    """``value [low, high]`` as a reader takes it in: three decimals for metrics of order 1,
    ``6.30 [4.79, 7.91] × 10⁹`` for very large or small ones (a mass MAE in M☉)."""
    has_ci = low is not None and high is not None and not pd.isna(low) and not pd.isna(high)
    magnitude = abs(value)
    if magnitude == 0 or 0.01 <= magnitude < 1000:
        digits = 3 if magnitude < 100 else 1
        return f"{value:.{digits}f}" + (f" [{low:.{digits}f}, {high:.{digits}f}]" if has_ci else "")
    exponent = math.floor(math.log10(magnitude))
    scale = 10.0**exponent
    shown = f"{value / scale:.2f}" + (f" [{low / scale:.2f}, {high / scale:.2f}]" if has_ci else "")
    return f"{shown} × 10{str(exponent).translate(SUPERSCRIPT)}"


def format_spread(mean: float, std: float, n: int, unit: str = "") -> str:
    """A metric over training seeds as ``mean ± std (n seeds)``, std the sample std (ddof=1), scaled
    and rounded as :func:`format_interval` does, the unit (if any) after the std."""
    magnitude = abs(mean)
    if magnitude == 0 or 0.01 <= magnitude < 1000:
        digits = 3 if magnitude < 100 else 1
        shown = f"{mean:.{digits}f} ± {std:.{digits}f}"
    else:
        exponent = math.floor(math.log10(magnitude))
        scale = 10.0**exponent
        shown = f"({mean / scale:.2f} ± {std / scale:.2f}) × 10{str(exponent).translate(SUPERSCRIPT)}"
    return shown + (f" {unit}" if unit else "") + f" ({n} seeds)"


def seed_spread_text(row: Any, unit: str = "") -> str | None:
    """A leaderboard row's ``mean ± std (n seeds)``, or None where the model ran one seed."""
    n, mean, std = (getattr(row, c, None) if not isinstance(row, dict) else row.get(c) for c in ("seeds", "seed_mean", "seed_std"))
    if n is None or mean is None or pd.isna(n) or pd.isna(mean):
        return None
    return format_spread(float(mean), float(std), int(n), unit)


def target_unit(target_units: dict[str, str]) -> str:
    """The display unit of a one-target model's target (M☉ for Msun); none for a dimensionless
    target, an unrecorded unit or several targets (their errors share no unit)."""
    if len(target_units) != 1:
        return ""
    unit = next(iter(target_units.values()))
    return {"Msun": "M☉", "dimensionless": ""}.get(unit, unit)


def _error_unit(row: Any) -> str:
    """The unit of a row's headline metric when it is an error (MAE, RMSE, the posterior mean's
    MAE): the leaderboard's ``unit`` column, its target's; none for unitless metrics."""
    unit = getattr(row, "unit", None)
    return unit if row.main_metric.startswith(("mae", "rmse")) and isinstance(unit, str) else ""


def leaderboard_table(record: dict[str, Any], folder: Path) -> str:
    """One row per recorded evaluation: model, task, data, headline metric [95% bootstrap interval], test images;
    where the record holds training repeats (``seeds:``), the headline's mean ± std (ddof=1) over seeds beside it."""
    table = pd.read_csv(folder / "leaderboard.csv")
    seeded = "seed_mean" in table.columns
    spread = (" mean ± std over seeds |", "---|") if seeded else ("", "")
    lines = [f"| model | task | trained on → evaluated on | metric | value [95% CI] (seed 0) |{spread[0]} constant predictor | test images |",
             f"|---|---|---|---|---|{spread[1]}---|---|"]
    if not seeded:  # a record of single runs keeps its quoted header
        lines[0] = lines[0].replace(" (seed 0)", "")
    for row in table.itertuples(index=False):
        shown = format_interval(float(row.main_value), getattr(row, "main_value_low", None), getattr(row, "main_value_high", None))
        unit = _error_unit(row)
        shown += f" {unit}" if unit else ""  # the constant predictor's column reuses it
        data = row.train_dataset if row.train_dataset == row.eval_dataset else f"{row.train_dataset} → {row.eval_dataset}"
        seeds = f" {seed_spread_text(row, unit) or '–'} |" if seeded else ""
        lines.append(f"| `{row.model}` | {row.task} | {data} | {row.main_metric} | {shown} |{seeds} {_constant(row, unit)} | {int(row.n_test)} |")
    return "\n".join(lines) + "\n\n" + caption(record) + "\n"


def _constant(row: Any, unit: str) -> str:
    """What a constant prediction scores on the row's headline metric: chance (0.5) for an AUC, the
    training mean's error for a regression (recorded with the model's metrics)."""
    if "auc" in row.main_metric:
        return "0.5"
    baseline = getattr(row, f"baseline_{row.main_metric}", None)
    if baseline is None or pd.isna(baseline):
        return "–"
    return format_interval(float(baseline)) + (f" {unit}" if unit else "")


def caption(record: dict[str, Any]) -> str:
    """Where the numbers come from: config, commit, machine, when and how long."""
    cpu = record["machine"].get("cpu")
    machine = f"{cpu['model']} ({cpu['torch_cpu_capability']})" if isinstance(cpu, dict) else "several machines"
    commits = ", ".join(c[:7] + ("+dirty" if c.endswith("+dirty") else "") for c in record["git_commits"])
    time = record.get("time", {})
    when = f", finished {time['finished'][:10]}, {time['jobs']} jobs in {time['wall_s'] / 60:.0f} min" if "finished" in time else ""
    return f"*From the record of `{record['config']}` at commit {commits} on {machine}{when}.*"


def populations_table(record: dict[str, Any], folder: Path) -> str:
    """Per population entry and lens count N: coverage of the stacked 68% and 95% intervals over
    the populations (with the range a calibrated posterior gives), mean posterior std, mean |error|."""
    lines = ["| population | lenses N | populations | 68% coverage (expected) | 95% coverage (expected) | mean std | mean abs error |",
             "|---|---|---|---|---|---|---|"]
    for key, metrics in sorted(record["metrics"].items()):
        if not key.startswith("populations/"):
            continue
        name = key.split("/")[1]
        for n, entry in metrics["by_lenses"].items():
            cov = [f"{entry[f'coverage_{lv}']:.2f} ({entry[f'coverage_{lv}_expected_range'][0]:.2f}–{entry[f'coverage_{lv}_expected_range'][1]:.2f})"
                   for lv in (68, 95)]
            lines.append(f"| `{name}` | {n} | {metrics['populations']} | {cov[0]} | {cov[1]} | {entry['mean_std']:.3f} | {entry['mean_abs_error']:.3f} |")
    return "\n".join(lines) + "\n\n" + caption(record) + "\n"


def calibration_table(record: dict[str, Any], folder: Path) -> str:
    """Per model that states an uncertainty and per target: the largest deviation of expected
    coverage from nominal (with the level and the binomial half-width a calibrated model shows
    there), the 68.3% and 95.4% coverage, SBC's KS p-value, TARP for posteriors, the MAE of the
    point estimate [95% bootstrap interval] beside the constant predictor's (the training mean),
    and the mean posterior width over the prior's."""
    lines = ["| model | task | target | max coverage error (at level; calibrated within) | 68.3% / 95.4% coverage | SBC KS p | TARP ATC (KS p) | MAE [95% CI] (constant predictor) | width / prior | test images |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for key, metrics in sorted(record["metrics"].items()):
        if not key.startswith("models/") or "coverage_max_error" not in metrics:
            continue
        model, task = key.split("/")[1], metrics["provenance"].get("task", "")
        units = metrics.get("target_units", {})
        for target, entry in metrics["targets"].items():
            cal = entry["calibration"]
            level = cal["coverage_worst_level"]
            within = metrics["binomial_halfwidth_95"] if "binomial_halfwidth_95" in metrics else None
            band = f"; ±{within[cal['levels'].index(level)]:.3f}" if within else ""
            tarp = f"{metrics['tarp_atc']:.3f} ({metrics['tarp_ks_p']:.2f})" if "tarp_atc" in metrics else "–"
            unit = f" {units[target]}" if units.get(target) else ""
            ci = metrics.get("ci", {}).get(f"targets.{target}.mae", {})
            mae = f"{format_interval(entry['mae'], ci.get('low'), ci.get('high'))}{unit} ({format_interval(entry['baseline']['mae'])})"
            width = f"{entry['width_over_prior']:.2f}" if "width_over_prior" in entry else "–"
            lines.append(
                f"| `{model}` | {task} | `{target}` | {cal['coverage_max_error']:.3f} ({level:.1%}{band}) | "
                f"{cal['coverage_1sigma']:.3f} / {cal['coverage_2sigma']:.3f} | {cal['sbc_ks_p']:.2f} | {tarp} | {mae} | {width} | {metrics['n_test']} |"
            )
    return "\n".join(lines) + "\n\n" + caption(record) + "\n"


KINDS: dict[str, Callable[[dict[str, Any], Path], str]] = {
    "leaderboard": leaderboard_table, "populations": populations_table, "calibration": calibration_table,
}


def render(record_folder: str | Path, kind: str, root: str | Path = ".") -> str:
    """The table of ``kind`` for the record at ``record_folder`` (relative to ``root``)."""
    if kind not in KINDS:
        raise RecordError(f"quoted table kind {kind!r} unknown; allowed: {', '.join(KINDS)}")
    folder = Path(root) / record_folder
    return KINDS[kind](read_record(folder), folder)


def quoted_blocks(text: str) -> list[re.Match[str]]:
    """Every quoted-table block of a Markdown text."""
    return list(BLOCK.finditer(text))


def refresh(text: str, root: str | Path = ".") -> str:
    """``text`` with every quoted block regenerated from its record."""
    return BLOCK.sub(lambda m: m.group(1) + render(m["record"], m["kind"], root) + m.group(5), text)


def check(path: str | Path, root: str | Path = ".") -> list[str]:
    """Problems of a Markdown file's quoted blocks: each names the block and its first line that
    differs from the record (empty when every quoted number is its record's)."""
    text = Path(path).read_text()
    problems = []
    for m in quoted_blocks(text):
        expected = render(m["record"], m["kind"], root)
        if m["body"] != expected:
            line, shown, should = first_difference(m["body"], expected)
            problems.append(f"{path}: quoted table `{m['record']} {m['kind']}` line {line} reads {shown!r}; its record gives {should!r} "
                            f"(regenerate with `deeplense quote --update {path}`)")
    return problems
