# Image to Image: set-up, tests and the course website.
# `make lab` and `make test` create .venv on first use and install course_lib with the tested
# versions from constraints.txt; later calls only reinstall when pyproject.toml or
# constraints.txt changed.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
JOBS   ?= 2
# glibc returns big blocks to the OS after every GAN step otherwise (see cpu-timings.md):
# keeping them is 1.1-1.45x faster on CPU and makes timings stable.
export MALLOC_MMAP_THRESHOLD_ = 4294967295
export MALLOC_TRIM_THRESHOLD_ = 4294967295
export MPLBACKEND = Agg

.PHONY: install install-site lab test test-fast notebooks labs links site book bench estimate weights grade lint clean help

help:
	@echo "make lab        start JupyterLab at the course home (installs on first use)"
	@echo "make test       the whole test suite: unit tests, labs, every notebook in quick mode"
	@echo "make test-fast  unit tests only (no notebooks)"
	@echo "make labs       regenerate labs/ from solutions/"
	@echo "make links      copy pyproject.toml's repository address and version into every Colab"
	@echo "                badge and install cell (they pin the tag vVERSION; see CONTRIBUTING.md)"
	@echo "make notebooks  re-execute lectures and solutions in quick mode, store their outputs"
	@echo "make site       the course website from the stored notebooks: build/site/html/index.html"
	@echo "                (SITE_ARGS=--serve serves it on 127.0.0.1:8000; make book is the same)"
	@echo "make bench      training speed of every model: variants vs fp32 eager (build/bench.csv)"
	@echo "make weights    retrain every shipped checkpoint from scratch (WEIGHTS=\"tinygan ...\" for some)"
	@echo "make estimate   every notebook's gpu-mode run time on a Colab T4, from FLOPs (checked on CPU)"
	@echo "make grade      grade a folder of submissions: LAB=01 SUBMISSIONS=submissions/ (gradebook in grades/)"
	@echo "make lint       ruff over the library, tests, tools and notebooks"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/python -m pip install --quiet --upgrade "pip>=23"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev,metrics]"
	@touch $(STAMP)

install: $(STAMP)

# The website's tools (Sphinx, myst-nb, the book theme, Playwright: pyproject's `site` extra) and
# MathJax from npm (book/package-lock.json), so that pages render math offline. Without npm the
# site cannot be built: `make test` then says so and skips the browser test (CI fails instead).
SITE_STAMP := $(VENV)/.installed-site
$(SITE_STAMP): $(STAMP) book/package.json book/package-lock.json
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev,site,metrics]"
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --prefix book --no-audit --no-fund --loglevel=error && touch $(SITE_STAMP); \
	else \
		echo "npm not found: install Node.js to build the course website (make site);"; \
		echo "make test will skip the site's browser test"; \
	fi

install-site: $(SITE_STAMP)

# JupyterLab refuses to run as root unless told; containers (Colab-like images, CI) often are root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
LAB_ARGS ?=

lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=. $(ROOT_FLAG) $(LAB_ARGS)

# -rs prints the reason of every skipped test (e.g. the browser test without Chromium);
# --durations lists the slowest tests, to keep the suite within its 25-minute budget.
# Notebooks first: each one is a single long unit of work for a worker (--dist loadscope keeps its
# cells together), so starting them early and ending with the many short test modules keeps both
# workers busy until the end.
test: $(SITE_STAMP)
	$(BIN)/python -m pytest -n $(JOBS) --dist loadscope --nbval-lax --nbval-current-env -rs --durations=30 \
		lectures solutions tests

test-fast: $(STAMP)
	$(BIN)/python -m pytest -n $(JOBS) --dist loadscope tests

labs: $(STAMP)
	$(BIN)/python -m tools.make_labs

# pyproject.toml's version and [project.urls] Repository are their only home: this writes them
# into badges, install cells, README and CONTRIBUTING (and regenerates the labs it touched).
links: $(STAMP)
	$(BIN)/python -m tools.sync_links

notebooks: $(STAMP)
	$(BIN)/python -m tools.run_notebooks

SITE_ARGS ?=
site: $(SITE_STAMP)
	$(BIN)/python -m tools.site $(SITE_ARGS)

book: site

# A class's submissions into grades/LAB/gradebook.csv and feedback/ (see README, "Labs and grading").
LAB ?= 01
SUBMISSIONS ?= submissions
grade: $(STAMP)
	$(BIN)/python -m course_lib.grade $(LAB) $(SUBMISSIONS) --out grades/$(LAB) --jobs $(JOBS)

# Every trainable model, quick and paper size, each variant against fp32 eager in one process.
# BENCH_ARGS="--models pix2pix --presets paper" narrows it down.
BENCH_ARGS ?=
bench: $(STAMP)
	$(BIN)/python -m course_lib.train.bench $(BENCH_ARGS)

# Shipped checkpoints (course_lib/pretrained): deterministic rebuilds that rewrite the manifest.
WEIGHTS ?= all
weights: $(STAMP)
	$(BIN)/python -m course_lib.pretrained build $(WEIGHTS)

# Runs each notebook in gpu mode on this CPU, one training step per phase, counting FLOPs.
# ESTIMATE_ARGS="04 06 --write" narrows it down and stores the result in notebook_times.json.
ESTIMATE_ARGS ?=
estimate: $(STAMP)
	$(BIN)/python -m tools.estimate $(ESTIMATE_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check course_lib tests tools lectures/*.py solutions/*.py
	$(BIN)/mypy course_lib

clean:
	rm -rf build runs .pytest_cache
