"""Every code block of the README and the documentation pages runs, taken from the pages themselves so that the two cannot
drift: shell commands (Snakemake runs as dry runs, `make` targets with `make -n`), Python
snippets, YAML snippets merged into `config.yaml` and validated, the example error message
reproduced, and the listing of outputs found in a real (tiny) run."""

import glob
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.documentation import documentation_text

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ENV = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
README_CONFIG = ROOT / "tests" / "configs" / "readme.yaml"


def code_blocks(language: str | None) -> list[str]:
    """The documentation's fenced blocks of ``language`` (None: blocks without one)."""
    text = documentation_text()
    blocks = re.findall(r"^```(\w*)\n(.*?)^```", text, flags=re.S | re.M)
    return [body for lang, body in blocks if lang == (language or "")]


def test_every_block_is_of_a_kind_this_test_runs():
    text = documentation_text()
    languages = set(re.findall(r"^```(\w*)\n", text, flags=re.M))
    assert languages <= {"bash", "python", "yaml", "text", ""}, languages
    assert all(code_blocks(lang) for lang in ("bash", "python", "yaml", "text", None))


def run(cmd: str | list[str], cwd: Path) -> subprocess.CompletedProcess:
    out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=ENV, shell=isinstance(cmd, str), timeout=1200)
    assert out.returncode == 0, f"{cmd}\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}"
    return out


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """A finished workflow run on the README config (dataset `demo`, model `resnet18`), with that
    config also as `config.yaml` and `my_experiment.yaml`, and the repository's `profiles/`, as a
    user who ran `make run` in the repository has."""
    work = tmp_path_factory.mktemp("readme")
    for name in ("config.yaml", "my_experiment.yaml"):
        shutil.copy(README_CONFIG, work / name)
    (work / "profiles").symlink_to(ROOT / "profiles")
    run([str(BIN / "snakemake"), "-s", str(ROOT / "Snakefile"), "--configfile", "config.yaml", "--cores", "2"], work)
    return work


def shell_commands() -> list[str]:
    commands = []
    for block in code_blocks("bash"):
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
            if line and not line.startswith("#"):
                commands.append(line)
    return commands


@pytest.mark.e2e
@pytest.mark.parametrize("command", shell_commands())
def test_shell_command_runs(command, workdir):
    words = shlex.split(command)
    if words[0] == "source":  # environment set-up: the test already runs inside .venv
        assert words[1] == ".venv/bin/activate" and (ROOT / ".venv" / "bin" / "activate").is_file()
        return
    if words[0] == "make":  # its targets build environments and run for minutes: check what they would do
        out = run(["make", "-n", *[w.replace("CONFIG=", f"CONFIG={workdir}/") if w.startswith("CONFIG=") else w for w in words[1:]]], ROOT)
        assert out.stdout.strip()
        return
    if words[0] == "snakemake":
        words = [str(BIN / "snakemake"), "-s", str(ROOT / "Snakefile"), *words[1:]]
        if "--report" not in words:
            words.append("--dry-run")
        run(words, workdir)
        if "--report" in words:
            report = workdir / words[words.index("--report") + 1]
            assert report.stat().st_size > 100_000 and "Leaderboard" in report.read_text()
        return
    assert words[0] in {"deeplense", "python"}, command
    run(words, workdir)


@pytest.mark.e2e
def test_python_blocks_run(workdir):
    for block in code_blocks("python"):
        out = run([sys.executable, "-c", block], workdir)
        if "vortex images with" in block:
            assert int(out.stdout.split()[0]) > 0, out.stdout  # the selection found vortex images


@pytest.mark.e2e
def test_output_listing_matches_a_real_run(workdir):
    (listing,) = code_blocks(None)
    for line in listing.splitlines():
        paths = re.split(r"\s{2,}", line.strip())[0]
        base = ""
        for part in [p.strip() for p in re.split(r",\s*(?![^{]*\})", paths)]:  # commas outside braces
            if part.startswith("results/"):
                path, base = part, part.rsplit("/", 1)[0]
            else:  # a file beside the line's first path
                path = f"{base}/{part}"
            pattern = re.sub(r"<[^>]+>", "*", path).replace("…", "*")
            for alternative in _braces(pattern):
                assert glob.glob(str(workdir / alternative)), (line, alternative)


def _braces(pattern: str) -> list[str]:
    found = re.search(r"\{([^}]*)\}", pattern)
    if not found:
        return [pattern]
    return [x for option in found.group(1).split(",") for x in _braces(pattern[: found.start()] + option + pattern[found.end():])]


def _merged(snippet: dict) -> dict:
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    for key, value in snippet.items():
        cfg[key] = {**cfg.get(key, {}), **value} if isinstance(value, dict) else value
    return cfg


@pytest.mark.parametrize("snippet", code_blocks("yaml"))
def test_yaml_snippets_are_valid_in_the_default_config(snippet, tmp_path):
    """Pasted into config.yaml, every YAML example is a valid experiment."""
    path = tmp_path / "pasted.yaml"
    path.write_text(yaml.safe_dump(_merged(yaml.safe_load(snippet))))
    run([str(BIN / "deeplense"), "check-config", str(path)], tmp_path)


def test_example_error_message_is_what_deeplense_prints(tmp_path):
    """The README's example of a config error, reproduced from config.yaml with its three mistakes."""
    (example,) = code_blocks("text")
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    lens = cfg["datasets"]["demo"]["lens"]
    lens["masss"] = lens.pop("mass")
    cfg["datasets"]["demo"]["instrument"]["exposure_time"] = 0
    cfg["sweeps"] = {"vortex_mass": {"dataset": "demo", "parameter": "classes.vortex.params.mass", "values": [1.0e10, -3.0e10]}}
    (tmp_path / "my_experiment.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    out = subprocess.run([str(BIN / "deeplense"), "check-config", "my_experiment.yaml"], cwd=tmp_path, capture_output=True, text=True, env=ENV)
    assert out.returncode == 1
    printed = out.stderr.splitlines()
    for line in example.splitlines():
        expected = re.escape(line.strip()).replace(re.escape("..."), ".*")
        assert any(re.fullmatch(expected, p.strip()) for p in printed), (line, out.stderr)


def test_regeneration_figures_are_those_of_the_committed_record():
    """The table of what an edit reruns quotes the benchmark record it names, rounded as shown."""
    text = documentation_text()
    record_name = re.search(r"record `(benchmarks/workflow_regeneration_[^`]+\.json)`", text).group(1)
    edits = json.loads((ROOT / record_name).read_text())["regeneration"]["edits"]
    rows = re.findall(r"^\| (WDM `log_mc` 8\.5|5-point sweep|a seventh class)[^|]*\| (\d+) → (\d+) \| (\d+) → (\d+) "
                      r"\| (\d+) → (\d+) \| (\d+) → (\d+) \|$", text, flags=re.M)
    assert [row[0] for row in rows] == ["WDM `log_mc` 8.5", "5-point sweep", "a seventh class"]
    for row, key in zip(rows, ("param_change", "sweep_5", "class_added")):
        old, new = edits[key]["old"], edits[key]["new"]
        expected = [old["jobs_total"], new["jobs_total"], old["shard_jobs"], new["shard_jobs"],
                    round(old["cpu_s"]), round(new["cpu_s"]), len(old["retrained_run"]), len(new["retrained_run"])]
        assert [int(x) for x in row[1:]] == expected, key


def _record(name: str) -> dict:
    return json.loads((ROOT / "benchmarks" / name).read_text())


def _predict_quotes(r: dict) -> list[str]:
    """`deeplense predict` beside the in-memory DataLoader loop at each size, in the calling
    process and on a LocalCluster, and the worker scaling over the whole store."""
    sizes = r["sizes"]
    small = sizes["1000"]
    first_blocks = [sizes[n]["deeplense_cluster"]["first_block_s"] for n in sizes]
    return [f"runs at {small['deeplense_vs_dataloader_in_memory']:.2f}× its speed on 1,000 images "
            f"({small['deeplense']['wall_s']:.2f} s against {small['dataloader_in_memory']['wall_s']:.2f} s",
            f"{sizes['10000']['deeplense_vs_dataloader_in_memory']:.2f}× on 10,000 and "
            f"{sizes['100000']['deeplense_vs_dataloader_in_memory']:.2f}× on 100,000 images",
            "manages " + ", ".join(f"{sizes[n]['deeplense_cluster_vs_dataloader_in_memory']:.2f}×" for n in ("1000", "10000"))
            + f" and {sizes['100000']['deeplense_cluster_vs_dataloader_in_memory']:.2f}×",
            f"took {min(first_blocks):.0f} to {max(first_blocks):.0f} s to return their first block",
            f"{r['deeplense_img_per_s']['1_workers']:,} images/s with one worker and {r['deeplense_img_per_s']['2_workers']:,} "
            f"with two ({r['speedup_2_vs_1_workers']:.2f}×, against {r['network_alone_2_vs_1_processes']:.2f}× for",
            f"is {r['deeplense_2_workers_vs_dataloader']:.0f}× slower"] + [
            "" if all(sizes[n]["deeplense"]["executor"] == "in_process" for n in sizes) else "every size ran in the calling process"]


def _simulate_quotes(r: dict) -> list[str]:
    """Seconds per image at pyHalo's defaults and the speed-up range over the pyHalo scenarios."""
    res = r["results"]
    pyhalo = ("cdm_pyhalo", "wdm", "sidm", "axion_pyhalo")
    ratios = {size: [res[f"{name}@{size}"]["ratio"] for name in pyhalo] for size in (64, 150)}
    assert max(v.get("peak_rss_mb", 0.0) for v in res.values()) < 500  # "a simulation job peaks below 0.5 GB"
    return [f"an image costs ≈ {1 / res['cdm_pyhalo@64']['deeplense_img_per_s']:.1f} s at 64×64 and "
            f"≈ {1 / res['cdm_pyhalo@150']['deeplense_img_per_s']:.1f} s at 150×150",
            f"{min(ratios[64]):.0f}–{max(ratios[64]):.0f}× faster than the usual pyHalo + lenstronomy script at 64×64 "
            f"and {min(ratios[150]):.0f}–{max(ratios[150]):.0f}× at 150×150"]


def _precision_quotes(r: dict) -> list[str]:
    """bfloat16 against float32 training on a CPU that computes bfloat16."""
    m, ratio = r["models"], r["bfloat16_vs_float32"]
    return [f"ResNet-18 {m['resnet18@bfloat16']['img_per_s']:.0f} against {m['resnet18@float32']['img_per_s']:.0f} images/s "
            f"and the C8-equivariant CNN {m['equivariant_c8@bfloat16']['img_per_s']:.0f} against "
            f"{m['equivariant_c8@float32']['img_per_s']:.0f} on 2 threads "
            f"(×{ratio['resnet18']:.1f} and ×{ratio['equivariant_c8']:.1f};"]


# Benchmark figures the README quotes: the record each comes from and the quoted text it gives.
QUOTED_RECORDS = {
    "predict_full_2026-12-07.json": _predict_quotes,
    "simulate_full_2026-11-29.json": _simulate_quotes,
    "train_quick_precision_2026-11-30.json": _precision_quotes,
}


@pytest.mark.parametrize("record", list(QUOTED_RECORDS))
def test_quoted_benchmark_figures_are_those_of_their_records(record):
    """Each quoted figure is its committed record's, rounded as shown, and the README names the
    record (line breaks and indentation of the README ignored)."""
    text = " ".join(documentation_text().split())
    assert f"benchmarks/{record}" in text
    for quote in QUOTED_RECORDS[record](_record(record)):
        assert quote in text, quote
