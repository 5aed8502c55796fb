# Two entry points for a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_OUT := demo-output

.PHONY: demo test install install-test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# torch is pinned in pyproject.toml (torch==2.13.0, the CPU build).
install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

install-test: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'

demo: install
	$(BIN)/brightroom demo --output-dir $(DEMO_OUT)

test: install-test
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) $(DEMO_OUT) build src/*.egg-info
