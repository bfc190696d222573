# torchlinreg: `make demo` runs the main job, `make test` every test suite.
# Both install whatever is missing first: R and its packages from Debian,
# and a .venv with the pinned Python dependencies.

PYTHON_SYSTEM ?= python3
# e.g. make bench BENCH_ARGS="--quick" or BENCH_ARGS="--only 1 4"
BENCH_ARGS ?=
VENV := .venv
PYTHON := $(VENV)/bin/python
RLIB := $(CURDIR)/.Rlib
STAMPS := .stamps
VERSION := $(shell sed -n 's/^Version: *//p' DESCRIPTION)
TARBALL := torchlinreg_$(VERSION).tar.gz
PACKAGE_FILES := DESCRIPTION NAMESPACE LICENSE .Rbuildignore pyproject.toml requirements.txt \
  $(wildcard R/*.R man/*.Rd data/*.rda tests/testthat.R tests/testthat/*.R) \
  $(shell find python/torchlinreg -type f -not -path '*/__pycache__/*') \
  tools/build_r_package.sh tools/stage_python.py

# R (reticulate) uses the project's virtual environment.
export TORCHLINREG_PYTHON := $(CURDIR)/$(PYTHON)
export R_LIBS := $(RLIB)

.PHONY: all demo test test-python test-r r-check build examples bench deps clean

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

# The R package's tarball (R/, man/, NAMESPACE, data/ as committed, and the
# Python core staged into inst/python; `Rscript -e 'roxygen2::roxygenise()'`
# regenerates man/ and NAMESPACE), installed into .Rlib as a user installs it.
build: $(TARBALL)

$(TARBALL): $(PACKAGE_FILES) $(STAMPS)/r-deps
	PYTHON=$(PYTHON_SYSTEM) tools/build_r_package.sh $(CURDIR)

$(STAMPS)/r-package: $(TARBALL)
	@mkdir -p $(STAMPS) $(RLIB)
	R CMD INSTALL --no-test-load --library=$(RLIB) $(TARBALL)
	@touch $@

demo: deps
	$(PYTHON) examples/demo.py

test: test-python test-r

test-python: deps
	$(PYTHON) -m pytest -q tests/python

# testthat against the installed package (fails on any failure), then the
# built tarball through R CMD check, which fails here on an ERROR or WARNING.
# The check skips the tests (--no-tests): testthat has just run them, and a
# second run would add minutes to every `make test`.
# TORCHLINREG_TEST_INSTALL=1 runs test-install.R's full install: the tarball
# into a fresh library, install_torchlinreg() into a fresh virtualenv (about
# a minute and 2.5 GB of temporary disk, removed afterwards).
test-r: deps
	cd tests && TORCHLINREG_TEST_INSTALL=1 Rscript testthat.R
	$(MAKE) r-check

r-check: deps
	rm -rf torchlinreg.Rcheck
	_R_CHECK_FORCE_SUGGESTS_=false R CMD check --no-manual --no-tests $(TARBALL)
	@! grep -E "^\* .*\.\.\. (ERROR|WARNING)" torchlinreg.Rcheck/00check.log
	@echo "R CMD check: no ERROR, no WARNING"

examples: deps
	$(PYTHON) examples/run_all.py

bench: deps
	$(PYTHON) benchmarks/run.py $(BENCH_ARGS)

clean:
	rm -rf $(STAMPS) $(RLIB) *.Rcheck torchlinreg_*.tar.gz
