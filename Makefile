# Two commands do all set-up:  make demo  (the main job)  and  make test.
# Both build a virtual environment in $(VENV) first, with $(PYTHON).
PYTHON ?= python3
VENV ?= .venv
NUMPY ?= numpy
BIN := $(VENV)/bin

.PHONY: demo pictures gif test lint bench gpu-check-prepare gpu-check

# chainer 7.8.1 is an sdist whose setup.py imports pkg_resources, gone from
# setuptools >= 82: build-constraints.txt pins its build to setuptools<82.
# $(VENV)/runtime: the package and what it needs to run (make demo, pictures, gif);
# $(VENV)/installed adds the tests' extras (make test, lint).
$(VENV)/runtime: setup.py pyproject.toml build-constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	PIP_BUILD_CONSTRAINT=build-constraints.txt $(BIN)/python -m pip install -q -e . '$(NUMPY)'
	@touch $@

$(VENV)/installed: $(VENV)/runtime
	PIP_BUILD_CONSTRAINT=build-constraints.txt $(BIN)/python -m pip install -q -e '.[test]' '$(NUMPY)'
	@touch $@

demo: $(VENV)/runtime
	$(BIN)/python train_vae.py --dataset sample --seed 0 --out demo --force

pictures: $(VENV)/runtime    # every picture of make demo's run (it says why it gets no verdict)
	$(BIN)/python -m chainer_vae.visualize demo

gif: $(VENV)/runtime    # the 0-to-9 morph of make demo's run alone: demo/vae_0to9.gif
	$(BIN)/python -m chainer_vae.visualize demo --only morph --start 0 --end 9

# The tests on every core (pytest-xdist; a module's tests share one worker and its fixtures).
# ARGS: more pytest arguments, e.g. ARGS=--run-slow (whole epochs of full data sets too).
test: $(VENV)/installed
	$(BIN)/python -m pytest -q -n auto --dist loadscope --durations=15 $(ARGS)

lint: $(VENV)/installed    # ruff, configured in pyproject.toml; CI runs it before the tests
	$(BIN)/python -m ruff check .

# Not part of the tests: the speed benchmarks (benchmarks/bench_epoch.py, bench_step.py)
# against PyTorch.
# The CPU build of torch 2.13.0 on these machines is a Python 3.11 wheel; DATA_DIR holds
# the four MNIST .gz files (else the cache, downloaded once).
BENCH_PYTHON ?= python3.11
BENCH_VENV ?= .venv-bench
$(BENCH_VENV)/installed: setup.py pyproject.toml build-constraints.txt
	$(BENCH_PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install -q --upgrade pip
	PIP_BUILD_CONSTRAINT=build-constraints.txt $(BENCH_VENV)/bin/python -m pip install -q -e '.[bench]' 'torch==2.13.0' '$(NUMPY)'
	@touch $@

bench: $(BENCH_VENV)/installed
	$(BENCH_VENV)/bin/python benchmarks/bench_epoch.py $(if $(DATA_DIR),--data-dir $(DATA_DIR))
	$(BENCH_VENV)/bin/python benchmarks/bench_step.py

# The GPU half in one call of a lent GPU machine (scripts/gpu_check.sh, its header says all):
# gpu-check-prepare here (pip and ../shared reachable) fills .gpu-check/; gpu-check there
# runs the steps and brings their results back in $(OUT), the folder the GPU machine returns.
# ARGS: more flags, e.g. ARGS='--seconds 200' or ARGS=--no-mpich.
gpu-check-prepare:
	PYTHON=$(PYTHON) bash scripts/gpu_check.sh --prepare $(ARGS)

gpu-check:
	bash scripts/gpu_check.sh $(ARGS) $(OUT)
