"""Quoted tables: the documentation's result tables are their committed records' numbers."""

import hashlib
import json
from pathlib import Path

import pytest

from deeplense.report.quotes import check, format_interval, quoted_blocks, refresh, render
from deeplense.report.records import RecordError, read_record

ROOT = Path(__file__).resolve().parents[1]
QUOTING = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def test_every_quoted_table_is_its_record():
    """Every <!-- quote --> block of the README and the documentation reads as its record gives it."""
    blocks = [m for path in QUOTING for m in quoted_blocks(path.read_text())]
    assert any(m["record"] == "reproductions/demo" for m in blocks)
    problems = [p for path in QUOTING for p in check(path, ROOT)]
    assert not problems, "\n".join(problems)


def test_a_number_that_drifts_from_its_record_is_caught(tmp_path):
    readme = (ROOT / "README.md").read_text()
    block = next(m for m in quoted_blocks(readme) if m["record"] == "reproductions/demo")
    drifted = block.group(0).replace("| 0.912 [", "| 0.934 [", 1)
    assert drifted != block.group(0)
    page = tmp_path / "page.md"
    page.write_text(drifted)
    (problem,) = check(page, ROOT)
    assert "0.934" in problem and "0.912" in problem and "reproductions/demo leaderboard" in problem
    assert refresh(drifted, ROOT) == block.group(0)


def test_the_demo_record_is_of_the_current_demo_config():
    """The README's demo table quotes a run of config.yaml as it is: editing the config means
    running it again and recording it (`deeplense record --config config.yaml --output reproductions/demo`)."""
    record = read_record(ROOT / "reproductions/demo")
    assert record["config"] == "config.yaml"
    assert record["config_sha256"] == hashlib.sha256((ROOT / "config.yaml").read_bytes()).hexdigest()
    assert all(len(c.removesuffix("+dirty")) == 40 for c in record["git_commits"]) and record["git_commits"]
    for key, metrics in record["metrics"].items():
        assert metrics["provenance"]["git_commit"] in {c.removesuffix("+dirty") for c in record["git_commits"]}, key


@pytest.mark.parametrize(
    ("value", "low", "high", "shown"),
    [
        (0.91234, 0.8723, 0.9464, "0.912 [0.872, 0.946]"),
        (5917698271.0, 4528819171.7, 7299738713.1, "5.92 [4.53, 7.30] × 10⁹"),
        (0.0012, 0.001, 0.0014, "1.20 [1.00, 1.40] × 10⁻³"),
        (123.456, None, None, "123.5"),
    ],
)
def test_values_read_as_a_physicist_writes_them(value, low, high, shown):
    assert format_interval(value, low, high) == shown


def test_a_missing_record_or_kind_says_what_to_do(tmp_path):
    with pytest.raises(RecordError, match="deeplense record --config"):
        read_record(tmp_path)
    with pytest.raises(RecordError, match="allowed: leaderboard, populations"):
        render("reproductions/demo", "histogram", ROOT)
    (tmp_path / "record.json").write_text(json.dumps({"schema_version": 99}))
    with pytest.raises(RecordError, match="schema_version 99"):
        read_record(tmp_path)


def _calibrated_metrics(task: str, max_error: float, **extra) -> dict:
    """A model's metrics.json as the posterior and regression tasks write it (one target)."""
    levels = [0.05, 0.683, 0.954]
    entry = {"mae": 0.112, "baseline": {"mae": 0.5}, "calibration": {
        "levels": levels, "coverage": [0.05, 0.69, 0.95], "coverage_max_error": max_error, "coverage_worst_level": 0.683,
        "coverage_1sigma": 0.69, "coverage_2sigma": 0.95, "sbc_ks_p": 0.31}} | extra.pop("target", {})
    return {"provenance": {"task": task}, "n_test": 2100, "coverage_max_error": max_error, "sbc_ks_p_min": 0.31,
            "targets": {"log10_m_axion": entry}, "target_units": {"log10_m_axion": "dex"},
            "ci": {"targets.log10_m_axion.mae": {"low": 0.105, "high": 0.119}}} | extra


def test_the_calibration_table_sets_a_posterior_beside_a_gaussian_regressor():
    record = {"config": "configs/inference/axion_cpu.yaml", "git_commits": ["0" * 40], "machine": {"cpu": None},
              "metrics": {
                  "models/axion_posterior/metrics.json": _calibrated_metrics(
                      "posterior", 0.012, tarp_atc=-0.004, tarp_ks_p=0.87, binomial_halfwidth_95=[0.01, 0.02, 0.009],
                      target={"width_over_prior": 0.21}),
                  "models/axion_gaussian/metrics.json": _calibrated_metrics("regression", 0.081),
                  "models/classifier/metrics.json": {"provenance": {"task": "classification"}, "n_test": 10},
                  "populations/stack/metrics.json": {"populations": 20, "by_lenses": {}},
              }}
    from deeplense.report.quotes import calibration_table

    rows = calibration_table(record, Path(".")).splitlines()[2:4]
    assert rows[0].startswith("| `axion_gaussian` | regression | `log10_m_axion` | 0.081 (68.3%) |")
    assert "| – | 0.112 [0.105, 0.119] dex (0.500) | – | 2100 |" in rows[0]
    assert rows[1].startswith("| `axion_posterior` | posterior | `log10_m_axion` | 0.012 (68.3%; ±0.020) | 0.690 / 0.950 | 0.31 |")
    assert "| -0.004 (0.87) | 0.112 [0.105, 0.119] dex (0.500) | 0.21 | 2100 |" in rows[1]


def test_the_inference_page_reads_its_figures_from_the_axion_record():
    """The prose beside the quoted axion tables states figures of the same record."""
    text = (ROOT / "docs/inference.md").read_text()
    metrics = read_record(ROOT / "reproductions/axion_cpu")["metrics"]
    posterior = metrics["models/axion_posterior/metrics.json"]
    gaussian = metrics["models/axion_gaussian/metrics.json"]
    stack = metrics["populations/axion_stack/metrics.json"]["by_lenses"]
    level = posterior["targets"]["log10_m_axion"]["calibration"]["levels"].index(0.85)
    figures = {
        f"`width / prior` {posterior['width_over_prior']:.2f}",
        f"within {posterior['coverage_max_error']:.3f} of",
        f"half-width of {posterior['binomial_halfwidth_95'][level]:.3f}",
        f"KS p = {posterior['sbc_ks_p_min']:.2f}",
        f"off by {gaussian['coverage_max_error']:.3f}",
        f"MAE is {gaussian['mae'] / gaussian['baseline_mae']:.0f} times",
        f"mean std {stack['100']['mean_std']:.3f} dex",
        f"error over all 20, {stack['100']['mean_abs_error']:.2f} dex",
        f"coverage {stack['100']['coverage_68']:.0f} of {metrics['populations/axion_stack/metrics.json']['populations']}",
        f"{posterior['n_test']:,} lenses",
    }
    assert not [f for f in figures if f not in " ".join(text.split())], "figures not as recorded"
    assert posterior["targets"]["log10_m_axion"]["calibration"]["coverage_worst_level"] == 0.85


def _inference_page_and_record(record: str) -> tuple[str, dict]:
    """docs/inference.md with its whitespace folded, and the metrics of ``reproductions/<record>``."""
    return " ".join((ROOT / "docs/inference.md").read_text().split()), read_record(ROOT / "reproductions" / record)["metrics"]


def _missing(figures: set[str], text: str) -> list[str]:
    return [f for f in figures if f not in text]


def test_the_inference_page_reads_its_figures_from_the_noise_free_axion_record():
    """The prose beside the quoted noise-free axion tables states figures of the same record."""
    text, metrics = _inference_page_and_record("axion_hst_cpu")
    posterior = metrics["models/axion_posterior/metrics.json"]
    gaussian = metrics["models/axion_gaussian/metrics.json"]
    stack = metrics["populations/axion_stack/metrics.json"]["by_lenses"]["100"]
    cal = posterior["targets"]["log10_m_axion"]["calibration"]
    gcal = gaussian["targets"]["log10_m_axion"]["calibration"]
    figures = {
        f"MAE is {posterior['mae']:.3f} dex against the constant predictor's {posterior['baseline_mae']:.3f}",
        f"on average {posterior['width_over_prior']:.2f} of the prior's width",
        f"reaches MAE {gaussian['mae']:.3f} dex",
        f"at the {cal['coverage_worst_level']:.0%} level its intervals hold the truth {cal['coverage'][cal['levels'].index(cal['coverage_worst_level'])]:.1%}",
        f"(max coverage error {posterior['coverage_max_error']:.3f}; TARP",
        f"passes with ATC {posterior['tarp_atc']:.3f}",
        f"p = {posterior['sbc_ks_p_min'] / 1e-10:.1f} × 10⁻¹⁰",
        f"off by {gaussian['coverage_max_error']:.3f} at most, too narrow at 68% ({gcal['coverage_1sigma']:.1%})",
        f"p = {gaussian['sbc_ks_p_min'] / 1e-4:.1f} × 10⁻⁴",
        f"`checkpoint_epoch` {posterior['checkpoint_epoch']}",
        f"hold it for {stack['coverage_68']:.2f} (68%) and {stack['coverage_95']:.2f} (95%)",
        f"mean width of {stack['mean_std']:.3f} dex",
    }
    assert not _missing(figures, text), _missing(figures, text)
    assert posterior["checkpoint_epoch"] == gaussian["checkpoint_epoch"] == 19  # "still improving" at the last of 20 epochs
    assert gcal["coverage_2sigma"] > 0.954  # "too wide at 95%"
    assert posterior["tarp_ks_p"] > 0.05 and posterior["mae"] > gaussian["mae"]  # "TARP passes"; "not better"


def test_the_inference_page_reads_its_figures_from_the_wdm_record():
    """The prose beside the quoted WDM tables states figures of the same record."""
    text, metrics = _inference_page_and_record("wdm_cpu")
    alone = metrics["models/wdm_posterior/metrics.json"]
    joint = metrics["models/wdm_joint/metrics.json"]
    stack = metrics["populations/wdm_stack/metrics.json"]["by_lenses"]["50"]
    joint_mc = joint["targets"]["log_mc"]
    figures = {
        f"(MAE {alone['mae']:.3f} against {alone['baseline_mae']:.3f})",
        f"as wide as the prior ({alone['width_over_prior']:.2f})",
        f"(max coverage error {alone['coverage_max_error']:.3f}, just above the 0.03",
        f"SBC's KS p = {alone['sbc_ks_p_min']:.2f}",
        f"`log_mc` MAE {joint_mc['mae']:.3f} against {joint_mc['baseline']['mae']:.3f}",
        f"for {joint_mc['calibration']['coverage_1sigma']:.1%} of the lenses",
        f"(max coverage error {joint['coverage_max_error']:.3f} over both targets)",
        f"then {stack['coverage_68']:.0f} of the 20 populations inside their 68% interval ({stack['coverage_95']:.2f} inside 95%)",
        f"mean width of {stack['mean_std']:.3f} in `log_mc`",
    }
    assert not _missing(figures, text), _missing(figures, text)
    assert alone["tarp_ks_p"] > 0.05 and alone["sbc_ks_p_min"] > 0.05 and joint["sbc_ks_p_min"] < 0.05
