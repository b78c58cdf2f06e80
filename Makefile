# Two commands do all set-up:  make demo  (the main job)  and  make test.
# Both build a virtual environment in $(VENV) first, with $(PYTHON).
PYTHON ?= python3
VENV ?= .venv
NUMPY ?= numpy
BIN := $(VENV)/bin

.PHONY: demo pictures test

# chainer 7.8.1 is an sdist whose setup.py imports pkg_resources, gone from
# setuptools >= 82: build-constraints.txt pins its build to setuptools<82.
$(VENV)/installed: setup.py pyproject.toml build-constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	PIP_BUILD_CONSTRAINT=build-constraints.txt $(BIN)/python -m pip install -q -e '.[test]' '$(NUMPY)'
	@touch $@

demo: $(VENV)/installed
	$(BIN)/python train_vae.py --dataset sample --seed 0 --out demo --force

pictures: $(VENV)/installed
	$(BIN)/python -m chainer_vae.visualize demo --legacy-log results/legacy/qiita_log_100epochs.csv

test: $(VENV)/installed
	$(BIN)/python -m pytest -q
