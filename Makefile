PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[cli]"
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PY) -m pip install --quiet -e ".[cli,test]"
	touch $@

run: $(VENV)/.installed
	$(PY) -m scatter run digits

test: $(VENV)/.installed-test
	$(PY) -m pytest -q -p no:cacheprovider

bench: $(VENV)/.installed-test
	$(PY) -m pip install --quiet -e ".[cli,test,bench]"
	$(PY) benchmarks/speed.py

clean:
	rm -rf $(VENV) build *.egg-info
