# torchlinreg: `make demo` runs the main job, `make test` every test suite.
# Both install whatever is missing first: R and its packages from Debian,
# and a .venv with the pinned Python dependencies.

PYTHON_SYSTEM ?= python3
VENV := .venv
PYTHON := $(VENV)/bin/python
RLIB := $(CURDIR)/.Rlib
STAMPS := .stamps

# R (reticulate) uses the project's virtual environment.
export TORCHLINREG_PYTHON := $(CURDIR)/$(PYTHON)
export R_LIBS := $(RLIB)

.PHONY: all demo test test-python test-r examples bench deps clean

all: test

deps: $(STAMPS)/r-deps $(STAMPS)/venv $(STAMPS)/r-package

$(STAMPS)/r-deps: tools/install_r_deps.sh
	@mkdir -p $(STAMPS)
	tools/install_r_deps.sh
	@touch $@

# rpy2 compiles against R, so R comes first.
$(STAMPS)/venv: requirements.txt pyproject.toml $(STAMPS)/r-deps
	@mkdir -p $(STAMPS)
	test -x $(PYTHON) || $(PYTHON_SYSTEM) -m venv $(VENV)
	$(PYTHON) -m pip install --quiet -r requirements.txt
	$(PYTHON) -m pip install --quiet --no-deps -e .
	@touch $@

$(STAMPS)/r-package: DESCRIPTION $(wildcard R/*.R) $(STAMPS)/r-deps
	@mkdir -p $(STAMPS) $(RLIB)
	R CMD INSTALL --no-test-load --library=$(RLIB) .
	@touch $@

demo: deps
	$(PYTHON) examples/demo.py

test: test-python test-r

test-python: $(STAMPS)/venv
	$(PYTHON) -m pytest -q tests/python

test-r: deps
	cd tests && Rscript testthat.R

examples: deps
	$(PYTHON) examples/run_all.py

bench: deps
	$(PYTHON) benchmarks/run.py

clean:
	rm -rf $(STAMPS) $(RLIB) *.Rcheck torchlinreg_*.tar.gz
