"""The workflow stays `snakemake --lint` clean and snakefmt-formatted."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def test_snakemake_lint_is_clean():
    out = subprocess.run([str(BIN / "snakemake"), "--lint"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Congratulations, your workflow is in a good condition!" in out.stdout + out.stderr


def test_snakemake_files_are_snakefmt_formatted():
    out = subprocess.run([str(BIN / "snakefmt"), "--check", "Snakefile", "workflow/rules"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_no_shipped_file_points_at_what_users_do_not_have():
    """Users get the repository only: no file cites the developers' notes or their issue numbers."""
    import re

    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    pattern = re.compile(r"shared/[A-Z]+\.md|PHYSICS\.md|CONVENTIONS\.md|MISSION\.md|\b[Ii]ssues? #?\d+\b")
    offenders = []
    for name in tracked:
        path = ROOT / name
        if path.suffix in {".png", ".zarr", ".pt", ".npy"} or not path.is_file():
            continue
        text = path.read_text(errors="ignore")
        offenders += [f"{name}: {m.group(0)}" for m in pattern.finditer(text)]
    assert not offenders, offenders
