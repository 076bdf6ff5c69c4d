# Everything the project needs is installed from here: `make demo`, `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Real MNIST / CIFAR-10 for the labs: ../shared/data beside the repository (see README).
GRADER_DATA_DIR ?= $(abspath ../shared/data)
export GRADER_DATA_DIR

.PHONY: install demo test lint stubs bench train-solutions clean test-gradescope

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,cluster]'
	touch $(STAMP)

# The reference solutions at full marks where their data exist, one line per remaining gap.
# Fashion-MNIST comes from Debian where it can (root and apt-get), as in .ci/run.
demo: install
	@if [ ! -d /usr/share/datasets/fashion-mnist ] && command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    (apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist) >/dev/null 2>&1 \
	        || echo "note: could not install dataset-fashion-mnist; lab_fashion will be listed as not graded"; \
	fi
	$(BIN)/python -m grader.demo --submission solutions

test: install
	$(BIN)/ruff check grader tests benchmarks
	$(BIN)/python -m pytest -q -n 2 --dist loadgroup

# On demand only (not in `make test`): the Gradescope export on a fresh Debian system built with
# mmdebstrap, setup.sh run in it as root, then run_autograder on three submissions. Needs root and
# the network to the Debian and Python registries (about 1 GB); prints each step's time.
test-gradescope: install
	command -v mmdebstrap >/dev/null 2>&1 || apt-get install -y -qq mmdebstrap
	$(BIN)/python tests/gradescope_system.py

lint: install
	$(BIN)/ruff check grader tests benchmarks

stubs: install
	$(BIN)/python -m grader.stubgen

train-solutions: install
	$(BIN)/python solutions/train_labs.py lab_mnist
	$(BIN)/python solutions/train_labs.py lab_fashion
	$(BIN)/python solutions/train_labs.py lab_cifar10

bench: install
	$(BIN)/python benchmarks/bench_startup.py

clean:
	rm -rf $(VENV) build *.egg-info
