"""A lock left by a killed Snakemake run is removed; a live run's lock is left alone."""

import subprocess
import sys

from deeplense.workflow.locks import clear_stale_lock, snakemake_running_in


def test_stale_lock_is_removed_and_a_live_one_kept(tmp_path):
    assert clear_stale_lock(tmp_path) == "no lock"
    locks = tmp_path / ".snakemake" / "locks"
    locks.mkdir(parents=True)
    (locks / "0.input.lock").write_text("results\n")
    # a stand-in for a running Snakemake: "snakemake" on its command line, working in tmp_path
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "snakemake"], cwd=tmp_path)
    try:
        assert snakemake_running_in(tmp_path) == [live.pid]
        assert clear_stale_lock(tmp_path) == f"locked by running Snakemake (pid {live.pid}): left alone"
        assert (locks / "0.input.lock").exists()
    finally:
        live.kill()
        live.wait()
    assert snakemake_running_in(tmp_path) == []
    assert clear_stale_lock(tmp_path) == "removed a stale lock left by a killed run (1 files)"
    assert not any(locks.iterdir())
