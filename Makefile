# `make run` and `make test` create the environment themselves on a fresh machine.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.deeplense-installed
# PyAutoLens (backend: autolens) lives in its own Python 3.12 environment (envs/autolens.yaml).
# A python3.12 that runs (a pyenv shim may exist without the version being active), else pyenv's.
PYTHON_AUTOLENS ?= $(firstword $(shell python3.12 -c "import sys; print(sys.executable)" 2>/dev/null) \
	$(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3.12) python3.12)
VENV_AUTOLENS ?= .venv-autolens
AUTOLENS_STAMP := $(VENV_AUTOLENS)/.deeplense-installed
# The workflow's PyAutoLens rule runs this `deeplense` (under --use-conda: the conda env's).
export DEEPLENSE_AUTOLENS := $(abspath $(VENV_AUTOLENS))/bin/deeplense
CORES ?= all
# pytest-xdist workers of `make test`: most tests run one single-threaded process at a time, so
# two workers use a 2-core machine fully. `--dist loadfile` keeps each test file on one worker:
# a module-scoped fixture (a finished workflow run, trained models) is built once, and tests
# that read what an earlier test of their file made see it. Files go out longest first (the
# files with the most end-to-end tests; tests/conftest.py orders them).
TEST_WORKERS ?= 2
PYTEST_PARALLEL := -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder
CONFIG ?= config.yaml
REPORT ?= results/report.html

.PHONY: run test docs env autolens-env clean lint

env: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/python -m deeplense.simulation.warmup  # compile the simulation kernels once (numba caches them)
	@touch $(STAMP)

autolens-env: $(AUTOLENS_STAMP)

# deeplense itself without its (Python 3.11, torch) dependencies: a simulation job needs only
# the light ones listed in the requirements file.
$(AUTOLENS_STAMP): envs/autolens-requirements.txt pyproject.toml
	@test -x $(VENV_AUTOLENS)/bin/python || $(PYTHON_AUTOLENS) -m venv $(VENV_AUTOLENS)
	$(VENV_AUTOLENS)/bin/python -m pip install --quiet --upgrade pip
	$(VENV_AUTOLENS)/bin/python -m pip install --quiet -r envs/autolens-requirements.txt
	$(VENV_AUTOLENS)/bin/python -m pip install --quiet --no-deps --ignore-requires-python -e .
	@touch $(AUTOLENS_STAMP)


# Rules call the `deeplense` command: put the environment's bin first on PATH. A run killed
# at any point is resumed by the same command: a stale lock is cleared (never a live run's) and
# the profile reruns incomplete jobs.
run: export PATH := $(abspath $(BIN)):$(PATH)
run: $(STAMP)
	@# One reading of the config: a broken config stops here, naming its file and line; the
	@# PyAutoLens environment is built only when a dataset has `backend: autolens`.
	@deeplense backends --config $(CONFIG) > $(VENV)/.config-backends
	@if grep -qx autolens $(VENV)/.config-backends 2>/dev/null; then $(MAKE) autolens-env; fi
	deeplense unlock-stale
	snakemake --profile profiles/local --cores $(CORES) --configfile $(CONFIG) --report $(REPORT) --report-after-run
	@echo "Report: $(abspath $(REPORT))"

# The PyAutoLens and SLURM tests must run here, never skip: DEEPLENSE_REQUIRE_AUTOLENS and
# DEEPLENSE_REQUIRE_SLURM make a missing environment a failure. The report tests open the HTML
# report in headless Chromium; the SLURM tests start a one-node cluster (slurmctld, slurmd and
# munged, as root): Debian's packages, installed with one apt-get update when one is missing.
test: $(STAMP) $(AUTOLENS_STAMP)
	@packages=""; export PATH="$$PATH:/usr/sbin:/sbin"; \
	command -v chromium >/dev/null || packages="chromium"; \
	command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sbatch >/dev/null || packages="$$packages slurm-wlm"; \
	command -v munged >/dev/null || packages="$$packages munge"; \
	if [ -n "$$packages" ]; then export DEBIAN_FRONTEND=noninteractive; set -x; apt-get update && apt-get install -y $$packages; fi
	@# The documentation site builds without a warning: a broken link or API reference fails here.
	$(BIN)/mkdocs build --strict --quiet --site-dir $(abspath $(VENV))/.site
	@# --durations: the slowest tests, to keep the suite's time in view.
	DEEPLENSE_REQUIRE_AUTOLENS=1 DEEPLENSE_REQUIRE_SLURM=1 $(BIN)/python -m pytest -q $(PYTEST_PARALLEL) --durations=30
	@# The tests that compare torch results bit for bit, once more on other CPU kernels (ATen's
	@# generic ones, as on another CPU kind) and one OpenMP thread by default: a comparison that
	@# holds only by the luck of this CPU's kernels, or an unpinned thread count, fails here.
	ATEN_CPU_CAPABILITY=default OMP_NUM_THREADS=1 $(BIN)/python -m pytest -q $(PYTEST_PARALLEL) -m determinism -p no:cacheprovider

# The documentation site (docs/, mkdocs.yml) at http://127.0.0.1:8000, rebuilt on every edit.
docs: $(STAMP)
	$(BIN)/mkdocs serve

lint: $(STAMP)
	$(BIN)/snakemake --lint --configfile $(CONFIG)
	$(BIN)/snakefmt --check Snakefile workflow/rules

clean:
	rm -rf results logs benchmarks/rules .snakemake
