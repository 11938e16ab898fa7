"""Training repeats (`seeds:`): the setting, the repeats' seeds and jobs, and the spread over seeds
(mean ± sample std) in the leaderboard, the landing summary, records and quoted tables."""

import copy
import math
import statistics
import subprocess
import sys

import pandas as pd
import pytest
import yaml

from deeplense.config import ConfigError
from deeplense.errors import DeeplenseError
from deeplense.experiment import load_config
from deeplense.report.leaderboard import leaderboard, write_leaderboard
from deeplense.report.quotes import format_spread, render
from deeplense.report.records import read_record, write_record
from deeplense.report.seed_spread import seed_spread
from deeplense.report.summary import leaderboard_summary
from deeplense.seeds import training_seed
from deeplense.workflow import plan
from deeplense.workflow.records import run_outputs
from tests.records import write_metrics
from tests.test_workflow import TINY

RAW = yaml.safe_load(TINY.read_text())


def tiny(**seeds: int):
    """The tiny config with ``seeds`` set per model (the others as the file has them)."""
    raw = copy.deepcopy(RAW)
    for name, n in seeds.items():
        raw["models"][name]["seeds"] = n
    return load_config(raw, "tiny")


@pytest.mark.parametrize("value", [0, -2, 1.5, "2", True, None])
def test_seeds_is_a_whole_number_of_runs_from_one(value):
    raw = copy.deepcopy(RAW)
    raw["models"]["resnet18"]["seeds"] = value
    with pytest.raises(ConfigError) as err:
        load_config(raw, "tiny")
    line = next(line for line in str(err.value).splitlines() if "seeds" in line)
    assert f"models.resnet18.seeds = {value!r}" in line
    assert ("greater than or equal to 1" if isinstance(value, int) and not isinstance(value, bool) else "valid integer") in line


def test_seeds_change_neither_the_model_nor_its_hash():
    """Repeat 0 is the model as it was: the same spec (so nothing reruns) and config hash whatever ``seeds`` is."""
    one, three = tiny(resnet18=1), tiny(resnet18=3)
    assert one.models["resnet18"].seeds == 1 and tiny().models["resnet18"].seeds == 1  # the default
    split = {"train": 0.7, "val": 0.15, "test": 0.15}
    assert one.models["resnet18"].config_hash(7, split) == three.models["resnet18"].config_hash(7, split)
    assert plan.model_spec(one, "resnet18") == plan.model_spec(three, "resnet18")
    assert "seeds" not in three.models["resnet18"].training_dump()
    assert plan.repeats(one) == [("vortex_length", 1)]  # the tiny config repeats vortex_length once
    assert plan.repeats(three) == [("resnet18", 1), ("resnet18", 2), ("vortex_length", 1)]


def test_repeat_seeds_differ_and_are_the_same_in_every_process():
    seeds = [training_seed(7, k) for k in range(6)]
    assert seeds[0] == 7  # repeat 0 trains with the global seed, as the model always has
    assert len(set(seeds)) == 6 and all(0 <= s < 2**63 for s in seeds)
    assert training_seed(8, 1) != training_seed(7, 1)  # another global seed, other repeats
    code = "from deeplense.seeds import training_seed; print([training_seed(7, k) for k in range(6)])"
    for hash_seed in ("1", "2"):  # no salted hash() anywhere: another process gives the same seeds
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                             env={"PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(TINY.parents[2])})
        assert out.stdout.strip() == str(seeds)
    with pytest.raises(ValueError, match="training repeat -1"):
        training_seed(7, -1)


def test_a_repeat_is_its_model_with_its_own_training_seed():
    cfg = tiny(resnet18=3)
    base, repeat = plan.model_job(cfg, "resnet18"), plan.repeat_job(cfg, "resnet18", 2)
    assert repeat.seed == training_seed(cfg.seed, 2) != base.seed and repeat.repeat == 2 and base.repeat is None
    assert (repeat.model, repeat.split, repeat.model_name) == (base.model, base.split, base.model_name)  # same config, same split
    assert plan.repeat_spec(cfg, "resnet18", 1) != plan.repeat_spec(cfg, "resnet18", 2)
    assert plan.repeat_metrics(cfg, "resnet18") == [f"results/models/resnet18/seeds/{k}/metrics.json" for k in (1, 2)]
    assert plan.REPEAT_CHECKPOINT.format(model="resnet18", repeat=1) == "results/models/resnet18/seeds/1/checkpoint.pt"
    for k in (0, 3):
        with pytest.raises(ValueError, match=f"model resnet18 has seeds: 3, so repeats 1..2; no repeat {k}"):
            plan.repeat_job(cfg, "resnet18", k)


def test_a_record_holds_every_repeat():
    metrics, _ = run_outputs(tiny(resnet18=3), "results")
    repeats = sorted(k for k in metrics if "/seeds/" in k)
    assert repeats == ["models/resnet18/seeds/1/metrics.json", "models/resnet18/seeds/2/metrics.json",
                       "models/vortex_length/seeds/1/metrics.json"]
    assert str(metrics[repeats[0]]).endswith("results/models/resnet18/seeds/1/metrics.json")


def test_spread_is_the_mean_and_sample_std():
    spread = seed_spread([0.10, 0.12, 0.17])
    assert spread.n == 3 and spread.mean == pytest.approx(0.13)
    assert spread.std == pytest.approx(math.sqrt((0.03**2 + 0.01**2 + 0.04**2) / 2))  # ddof=1, not the /3 of ddof=0
    with pytest.raises(ValueError, match="at least 2 runs, got 1"):
        seed_spread([0.1])


def _runs(tmp_path, maes=(0.10, 0.12, 0.17), **repeat_fields):
    """A regression model ``r`` (its own run and repeats of MAE ``maes``) and a classifier ``c`` run once."""
    reg = {"task": "regression", "provenance": {"task": "regression"}}
    own = write_metrics(tmp_path / "r.json", {"mae": maes[0], "target_units": {"x": "dex"}}, model="r",
                        ci={"mae": {"low": 0.08, "high": 0.12}}, **reg)
    repeats = [write_metrics(tmp_path / f"r{k}.json", {"mae": v, "target_units": {"x": "dex"}}, model="r", **(reg | repeat_fields))
               for k, v in enumerate(maes[1:], 1)]
    clf = write_metrics(tmp_path / "c.json", {"auc_macro": 0.9}, model="c", ci={"auc_macro": {"low": 0.85, "high": 0.95}})
    return [own, clf], repeats


def test_leaderboard_gives_the_spread_beside_the_first_run(tmp_path):
    files, repeats = _runs(tmp_path)
    table = write_leaderboard(files, tmp_path / "lb.csv", tmp_path / "lb.html", tmp_path / "lb.md", tmp_path / "pub.csv",
                              summary_out=tmp_path / "summary.html", seed_metrics=repeats)
    r = table.set_index("model").loc["r"]
    assert r["seeds"] == 3 and r["seed_mean"] == pytest.approx(0.13) and r["seed_std"] == pytest.approx(statistics.stdev([0.10, 0.12, 0.17]))
    assert r["main_value"] == 0.10 and r["main_value_low"] == 0.08  # seed 0 with its bootstrap interval, as before
    assert pd.isna(table.set_index("model").loc["c", "seeds"])  # run once: no spread
    shown = "0.130 ± 0.036 dex (3 seeds)"
    for out in ("lb.html", "lb.md", "summary.html"):
        assert shown in (tmp_path / out).read_text(), out
    assert "mean ± std over seeds" in (tmp_path / "summary.html").read_text()
    lines = (tmp_path / "lb.csv").read_text().splitlines()
    header = lines[0].split(",")
    assert {line.split(",")[0]: line.split(",")[header.index("seeds")] for line in lines[1:]} == {"c": "", "r": "3"}  # a count
    csv = pd.read_csv(tmp_path / "lb.csv")
    assert list(csv.columns).index("seed_mean") == list(csv.columns).index("main_value_high") + 2  # seeds, seed_mean, seed_std
    # without repeats nothing changes: no spread columns anywhere
    single = leaderboard(files)
    assert not {"seeds", "seed_mean", "seed_std"} & set(single.columns)
    assert "over seeds" not in leaderboard_summary(single)


def test_a_repeat_on_another_test_split_or_of_no_model_is_refused(tmp_path):
    files, repeats = _runs(tmp_path, n_test=11)
    with pytest.raises(DeeplenseError, match=r"r1.json: a repeat of r evaluated on 11 test images .*the model itself on 10"):
        leaderboard(files, seed_metrics=repeats)
    files, repeats = _runs(tmp_path)
    with pytest.raises(DeeplenseError, match="a training repeat of model r on d, whose own metrics were not given"):
        leaderboard(files[1:], seed_metrics=repeats)


def test_spread_reads_as_the_interval_does():
    assert format_spread(0.13, 0.036056, 3) == "0.130 ± 0.036 (3 seeds)"
    assert format_spread(6.3e9, 4.1e8, 3, "M☉") == "(6.30 ± 0.41) × 10⁹ M☉ (3 seeds)"


def test_a_record_with_repeats_is_quoted_with_its_spread(tmp_path):
    files, repeats = _runs(tmp_path)
    config = tmp_path / "run.yaml"
    config.write_text("seed: 7\n")
    named = {"models/r/metrics.json": files[0], "models/c/metrics.json": files[1],
             **{f"models/r/seeds/{k}/metrics.json": p for k, p in enumerate(repeats, 1)}}
    write_record(config, 7, named, {}, tmp_path / "results", tmp_path / "rec")
    assert set(read_record(tmp_path / "rec")["files"]) == set(named)
    rows = pd.read_csv(tmp_path / "rec" / "leaderboard.csv")
    assert list(rows["model"]) == ["c", "r"]  # the repeats are the spread of r, not rows of their own
    text = render("rec", "leaderboard", tmp_path)
    assert "| value [95% CI] (seed 0) | mean ± std over seeds |" in text
    assert "| 0.100 [0.080, 0.120] dex | 0.130 ± 0.036 dex (3 seeds) |" in text
    assert "| 0.900 [0.850, 0.950] | – |" in text
    single = {k: v for k, v in named.items() if "/seeds/" not in k}
    write_record(config, 7, single, {}, tmp_path / "results", tmp_path / "one")
    assert "seeds" not in render("one", "leaderboard", tmp_path) and "| value [95% CI] |" in render("one", "leaderboard", tmp_path)
