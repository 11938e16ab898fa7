"""The SLURM profile on a real SLURM cluster: the README's command, run to the end on the one-node
cluster of tests/slurm_cluster.py; the cluster itself starts, runs a job and stops cleanly; and
the warning about models asking for more threads than a node has CPUs."""

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from deeplense.experiment import load_config
from deeplense.workflow.node_limits import thread_warnings
from tests import slurm_cluster as cluster_module
from tests.documentation import documentation_text

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "configs" / "tiny.yaml"
BIN = Path(sys.executable).parent
#: Added to the README's command by this test only: the first job-state query after 2 s instead
#: of 40 (the test's jobs take seconds; on a real cluster they take minutes to hours).
TEST_ONLY = ("--slurm-init-seconds-before-status-checks", "2")


def readme_slurm_command() -> list[str]:
    """The README's command for a cluster without accounting (its bash line with
    `--slurm-status-command squeue`), split into words."""
    text = documentation_text()
    blocks = re.findall(r"^```bash\n(.*?)^```", text, flags=re.S | re.M)
    lines = [line for block in blocks for line in block.splitlines() if "--profile profiles/slurm" in line and "--slurm-status-command squeue" in line]
    assert len(lines) == 1, f"README.md and docs/: expected one bash line running profiles/slurm with --slurm-status-command squeue, found {lines}"
    return shlex.split(lines[0].split("  #")[0])


def slurm_experiment(path: Path) -> Path:
    """tests/configs/tiny.yaml cut to what the README's target (`model_resnet18`) needs, with
    3 shards instead of 6, and ``resnet18`` asking for 3 threads: more than the command's
    `--max-threads 2`, so its jobs must be capped to 2 CPUs (and the warning printed)."""
    cfg = yaml.safe_load(TINY.read_text())
    cfg["simulation"]["shard_size"] = 24
    cfg["models"] = {"resnet18": {**cfg["models"]["resnet18"], "threads": 3}}
    cfg.pop("predictions", None)  # its prediction sets and population use models cut here
    cfg.pop("populations", None)
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def run_in_own_session(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    """``cmd`` with its output; on a time-out its whole process group is killed (no Snakemake
    left submitting to a cluster that is about to stop)."""
    process = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        out, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, _ = process.communicate()
        pytest.fail(f"{shlex.join(cmd)} ran over {timeout} s:\n{out[-5000:]}")
    return subprocess.CompletedProcess(cmd, process.returncode, out, "")


@pytest.mark.e2e
def test_readme_command_runs_the_workflow_on_slurm(slurm_cluster, tmp_path):
    if slurm_cluster.cpus < 2 or slurm_cluster.mem_mb < 2000:
        pytest.skip(f"the README's command needs a node of 2 CPUs and 2000 MB; this one has {slurm_cluster.cpus} and {slurm_cluster.mem_mb}")
    config = slurm_experiment(tmp_path / "experiment.yaml")
    workdir = tmp_path / "work"
    words = readme_slurm_command()
    assert words[0] == "snakemake" and "my_experiment.yaml" in words, words
    cmd = [str(BIN / "snakemake"), "-s", str(ROOT / "Snakefile"), "--directory", str(workdir)]
    cmd += [str(config) if w == "my_experiment.yaml" else w for w in words[1:]] + list(TEST_ONLY)
    env = {**os.environ, **slurm_cluster.env}
    env["PATH"] = f"{BIN}{os.pathsep}{slurm_cluster.env['PATH']}"  # the rules' `deeplense` first

    start = time.monotonic()
    run = run_in_own_session(cmd, ROOT, env, timeout=600)  # from the repository root: --profile profiles/slurm
    seconds = time.monotonic() - start
    print(f"SLURM end-to-end run: {seconds:.0f} s")
    assert run.returncode == 0, run.stdout[-6000:] + "\n" + slurm_cluster.logs(20)

    # The warning came before anything was submitted.
    out = run.stdout
    warning = out.find("deeplense: models.resnet18.threads is 3, but a node has 2 CPUs")
    first_submission = min(i for i in (out.find("Submitted array job"), out.find("has been submitted")) if i >= 0)
    assert 0 <= warning < first_submission, out[:4000]

    # Every job went through SLURM and finished there; training asked for 2 CPUs, not 3.
    (run_id,) = re.findall(r"SLURM run ID: (\S+)", out)
    jobs = [j for j in slurm_cluster.jobs() if j["name"] == run_id]
    by_rule: dict[str, list[dict[str, str]]] = {}
    for job in jobs:
        by_rule.setdefault(job["comment"].split("_wildcards_")[0].removeprefix("rule_"), []).append(job)
    assert {j["state"] for j in jobs} == {"COMPLETED"}, jobs
    assert set(by_rule) == {"simulate_shard", "store_dataset", "train_model", "evaluate_model"}, jobs
    assert len(by_rule["simulate_shard"]) == 3 and all("_" in j["id"] for j in by_rule["simulate_shard"])  # one array of 3 tasks
    assert [j["cpus"] for j in by_rule["train_model"]] == ["2"], by_rule["train_model"]

    model = workdir / "results" / "models" / "resnet18"
    assert (model / "checkpoint.pt").stat().st_size > 0
    metrics = json.loads((model / "metrics.json").read_text())
    assert 0 <= metrics["accuracy"] <= 1
    assert json.loads((model / "train_info.json").read_text())  # written by the training job


def test_cluster_starts_runs_a_job_and_stops_clean(slurm_cluster, tmp_path):
    """A second cluster beside the session's (own ports, socket and directory): a job runs,
    and stopping leaves no process and no directory behind."""
    with cluster_module.running(tmp_path / "cluster") as cluster:
        assert cluster.partition == "debug" and cluster.cpus >= 1 and cluster.mem_mb > 0
        out = cluster.run("sbatch", "--parsable", "-D", str(tmp_path), "-o", str(tmp_path / "job.out"), "--wrap", "srun hostname; sleep 300")
        assert out.returncode == 0, out.stderr + cluster.logs()
        job = out.stdout.strip()
        deadline = time.monotonic() + 60
        while not (tmp_path / "job.out").exists() or not (tmp_path / "job.out").read_text().strip():
            assert time.monotonic() < deadline, f"job {job} did not run: {cluster.jobs()}\n{cluster.logs()}"
            time.sleep(0.5)
        assert (tmp_path / "job.out").read_text().split()[0] == cluster.node  # srun works inside a job
        conf = str(cluster.conf)
    assert not (tmp_path / "cluster").exists()
    assert not _processes_of(conf), "processes of the stopped cluster are left"
    assert _node_state(slurm_cluster) in {"idle", "mixed", "allocated"}  # the session's cluster still answers


def _processes_of(conf: str) -> list[str]:
    """Processes whose command line or environment names ``conf``."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
            environ = (proc / "environ").read_bytes()
        except OSError:
            continue
        if conf.encode() in cmdline or f"SLURM_CONF={conf}".encode() in environ.split(b"\0"):
            command = cmdline.replace(b"\0", b" ").decode(errors="replace")
            found.append(f"{proc.name}: {command}")
    return found


def _node_state(cluster) -> str:
    return cluster.run("sinfo", "--noheader", "--format=%T").stdout.strip()


def test_thread_warning_names_model_threads_node_and_remedy():
    cfg = load_config(yaml.safe_load(TINY.read_text()) | {"models": {"big": {"architecture": "resnet18", "dataset": "tiny", "threads": 8}}, "predictions": {}, "populations": {}})
    (message,) = thread_warnings(cfg, 2)
    for part in ("models.big.threads is 8", "a node has 2 CPUs", "train_model", "evaluate_model", "ask SLURM for 2 CPUs", "max-threads", "profiles/slurm/config.yaml", "lower models.big.threads to at most 2"):
        assert part in message, (part, message)
    assert thread_warnings(cfg, 8) == [] and thread_warnings(cfg, None) == []


def test_thread_warning_names_a_prediction_set_with_more_workers_than_a_node_has():
    cfg = yaml.safe_load(TINY.read_text())
    cfg["predictions"]["anomaly_scores"]["workers"] = 4
    (message,) = thread_warnings(load_config(cfg), 2)
    assert "predictions.anomaly_scores.workers is 4, but a node has 2 CPUs" in message and "starts 2 Dask workers" in message, message
    assert thread_warnings(load_config(cfg), 4) == []


def test_thread_warning_names_the_searches_of_a_model():
    cfg = yaml.safe_load(TINY.read_text())
    cfg["models"] = {"big": {"architecture": "resnet18", "dataset": "tiny", "threads": 4}}
    cfg.pop("predictions", None)  # its prediction sets and population use models cut here
    cfg.pop("populations", None)
    cfg["searches"] = {"lr_scan": {"model": "big", "n_trials": 2, "space": {"lr": {"type": "float", "low": 1.0e-4, "high": 1.0e-2, "log": True}}}}
    (message,) = thread_warnings(load_config(cfg), 2)
    assert "its searches (lr_scan)" in message and "search_worker" in message, message


def test_profile_warns_before_submitting_a_job_larger_than_a_node(tmp_path):
    """A dry run with the SLURM profile: the warning comes first, and the profile's own
    max-threads (a node's CPUs) caps the jobs."""
    config = slurm_experiment(tmp_path / "experiment.yaml")
    cmd = [str(BIN / "snakemake"), "-s", str(ROOT / "Snakefile"), "--directory", str(tmp_path / "work"), "--configfile", str(config)]
    cmd += ["--profile", str(ROOT / "profiles" / "slurm"), "--max-threads", "2", "--dry-run", "model_resnet18"]
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    text = out.stdout + out.stderr
    assert "deeplense: models.resnet18.threads is 3, but a node has 2 CPUs" in text
    assert text.index("deeplense: models.resnet18") < text.index("rule train_model")
    profile = yaml.safe_load((ROOT / "profiles" / "slurm" / "config.yaml").read_text())
    assert isinstance(profile["max-threads"], int) and profile["max-threads"] >= 1
