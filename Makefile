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

# R (reticulate) uses the project's virtual environment.
export TORCHLINREG_PYTHON := $(CURDIR)/$(PYTHON)
export R_LIBS := $(RLIB)

.PHONY: all demo test test-python test-r r-check examples bench deps clean

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

# The R package from the checkout (R/, man/, NAMESPACE, data/ as committed;
# `Rscript -e 'roxygen2::roxygenise()'` regenerates man/ and NAMESPACE).
$(STAMPS)/r-package: DESCRIPTION NAMESPACE $(wildcard R/*.R man/*.Rd data/*.rda) $(STAMPS)/r-deps
	@mkdir -p $(STAMPS) $(RLIB)
	R CMD INSTALL --no-test-load --library=$(RLIB) .
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
test-r: deps
	cd tests && Rscript testthat.R
	$(MAKE) r-check

r-check: deps
	rm -rf torchlinreg.Rcheck torchlinreg_*.tar.gz
	@# R CMD build copies the whole directory (.venv included) before it
	@# applies .Rbuildignore, so build from a copy of the package files only.
	tmp=$$(mktemp -d) && mkdir -p $$tmp/torchlinreg/tests && \
	  cp -R DESCRIPTION NAMESPACE LICENSE .Rbuildignore R man data $$tmp/torchlinreg/ && \
	  cp -R tests/testthat.R tests/testthat $$tmp/torchlinreg/tests/ && \
	  (cd $$tmp && R CMD build --no-build-vignettes torchlinreg) && \
	  mv $$tmp/torchlinreg_*.tar.gz . && rm -rf $$tmp
	_R_CHECK_FORCE_SUGGESTS_=false R CMD check --no-manual --no-tests torchlinreg_*.tar.gz
	@! grep -E "^\* .*\.\.\. (ERROR|WARNING)" torchlinreg.Rcheck/00check.log
	@echo "R CMD check: no ERROR, no WARNING"

examples: deps
	$(PYTHON) examples/run_all.py

bench: deps
	$(PYTHON) benchmarks/run.py $(BENCH_ARGS)

clean:
	rm -rf $(STAMPS) $(RLIB) *.Rcheck torchlinreg_*.tar.gz
