# `make run` and `make test` create the environment themselves on a fresh machine.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.deeplense-installed
CORES ?= all
CONFIG ?= config.yaml
REPORT ?= results/report.html

.PHONY: run test env clean lint

env: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

# Rules call the `deeplense` command: put the environment's bin first on PATH. A run killed
# at any point is resumed by the same command: a stale lock is cleared (never a live run's) and
# the profile reruns incomplete jobs.
run: export PATH := $(abspath $(BIN)):$(PATH)
run: $(STAMP)
	deeplense unlock-stale
	snakemake --profile profiles/local --cores $(CORES) --configfile $(CONFIG) --report $(REPORT) --report-after-run
	@echo "Report: $(abspath $(REPORT))"

# The report tests open the HTML report in headless Chromium (Debian's package).
test: $(STAMP)
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/snakemake --lint --configfile $(CONFIG)
	$(BIN)/snakefmt --check Snakefile workflow/rules

clean:
	rm -rf results logs benchmarks/rules .snakemake
