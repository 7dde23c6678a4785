# clipaac: two commands for a newcomer (see README.md).
#   make book   generate the offline data and the default run (progress bars), execute every notebook,
#               render the site to _build/html
#   make test   lint, notebook hygiene and the whole test suite (notebooks included)
#   make test-fast  the same without the tests marked slow (notebooks, training runs, torchrun)
#   make check-book  open every page of _build/html in headless Chromium at 1280 px and list what a
#               reader would trip over (sideways scrolling, stderr boxes, broken images, frozen widgets)
# Both bootstrap .venv on first use and install nothing on later runs.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help venv java test test-fast lint check-notebooks book check-book strip clean-book clean

help:
	@echo "make book   build the book offline into _build/html"
	@echo "make test   run ruff, the notebook hygiene check and pytest"
	@echo "make test-fast   the same, skipping the tests marked slow"
	@echo "make check-book  check every page of the built book in headless Chromium"

# Re-install only when the dependency declarations change.
$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade --quiet "pip>=23.2"
	# --no-compile: Python compiles what it imports on first use; compiling every installed file up front
	# took 77 of the install's 183 s on 2 cores (2026-12-07)
	$(BIN)/python -m pip install --quiet --no-compile -c constraints.txt -e ".[book,dev]"
	@touch $(STAMP)

venv: $(STAMP)

# Java runs the PTB tokenizer and METEOR (pycocoevalcap). Fail early with a way to get it.
java:
	@command -v java >/dev/null 2>&1 || { \
	  echo "Java is needed for caption metrics (PTB tokenizer, METEOR) and was not found."; \
	  echo "Install it with:  sudo apt-get install default-jre-headless   (Debian/Ubuntu)"; \
	  echo "              or:  conda install -c conda-forge openjdk"; \
	  exit 1; }

lint: $(STAMP)
	$(BIN)/ruff check clipaac_lib tests benchmarks devtools

check-notebooks: $(STAMP)
	$(BIN)/python -m devtools.notebooks check notebooks

test: $(STAMP) java lint check-notebooks
	$(BIN)/python -m pytest -q -n 2 --no-loadscope-reorder --durations=20

test-fast: $(STAMP) java lint check-notebooks
	$(BIN)/python -m pytest -q -m "not slow"

book: $(STAMP) java
	$(BIN)/python -m devtools.book prepare
	# TQDM_DISABLE: no progress widget is stored in a notebook output (a static page cannot update it);
	# the long jobs of `prepare` above keep their console bars.
	TQDM_DISABLE=1 $(BIN)/jupyter-book build --all . || { echo "Book build failed: see the log above."; exit 1; }
	@echo "Book: $(CURDIR)/_build/html/index.html"

# Needs the book built (make book) and Chromium (Debian: apt-get install chromium); no network.
check-book: $(STAMP)
	$(BIN)/python -m devtools.browser_check _build/html

strip: $(STAMP)
	$(BIN)/python -m devtools.notebooks strip notebooks

clean-book:
	rm -rf _build _build_tmp

clean: clean-book
	rm -rf $(VENV)
