# Everything the project needs is installed from here: `make demo`, `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Real MNIST / CIFAR-10 for the labs: ../shared/data beside the repository (see README).
GRADER_DATA_DIR ?= $(abspath ../shared/data)
export GRADER_DATA_DIR

.PHONY: install demo test lint stubs bench train-solutions clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: install
	$(BIN)/grade all --submission solutions

test: install
	$(BIN)/ruff check grader tests benchmarks
	$(BIN)/python -m pytest -q -n 2 --dist loadgroup

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
