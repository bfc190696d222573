# install_torchlinreg(): its parts here, and (with TORCHLINREG_TEST_INSTALL=1,
# which `make test` sets) the whole of it, from the built tarball.

# A Python the install can run from R: the test Python's base, or skip.
base_python <- function() {
  python <- skip_if_no_real_python()
  probe <- torchlinreg:::probe_python(python, "venv")
  skip_if(!is.null(probe$problem), paste("the test Python cannot be run:", probe$problem))
  probe$base
}

# A shell script standing in for a Python: `body`, then `exec python "$@"`.
fake_python <- function(dir, body, python = "false") {
  path <- file.path(dir, "python3")
  writeLines(c("#!/bin/sh", body, sprintf("exec '%s' \"$@\"", python)), path)
  Sys.chmod(path, "755")
  path
}

test_that("a Python is tried without R's LD_LIBRARY_PATH, and one that fails is not used", {
  python <- base_python()
  dir <- withr::local_tempdir()
  withr::local_envvar(LD_LIBRARY_PATH = "/usr/lib/R/lib")
  # As the issue saw: a Python that cannot import ssl under R's library path.
  picky <- fake_python(dir, c('if [ -n "$LD_LIBRARY_PATH" ]; then',
                              '  echo "ImportError: undefined symbol: _PyModule_Add" >&2; exit 1',
                              "fi"), python)
  probe <- torchlinreg:::probe_python(picky, torchlinreg:::BASE_MODULES)
  expect_null(probe$problem)
  expect_identical(probe$env, "LD_LIBRARY_PATH=")
  expect_identical(probe$base, normalizePath(python))
  broken <- fake_python(withr::local_tempdir(), 'echo "ImportError: No module named _ssl" >&2; exit 1')
  expect_error(install_torchlinreg(envname = file.path(dir, "env"), python = broken),
               class = "torchlinreg_install_error", regexp = "cannot make the virtualenv: it does not run")
  expect_false(file.exists(file.path(dir, "env")))
})

test_that("a broken virtualenv is rebuilt, a working one from another Python is not silently reused", {
  home <- withr::local_tempdir()
  broken <- file.path(home, "broken")
  dir.create(file.path(broken, "bin"), recursive = TRUE)
  writeLines("home = /nonexistent", file.path(broken, "pyvenv.cfg"))
  file.symlink("/nonexistent/python3", file.path(broken, "bin", "python"))
  # Someone else's is left alone unless force = TRUE.
  expect_error(torchlinreg:::reusable_virtualenv(broken, NULL, force = FALSE),
               class = "torchlinreg_install_error", regexp = "is broken \\(it does not exist\\); force = TRUE")
  expect_true(file.exists(file.path(broken, "pyvenv.cfg")))
  writeLines("", file.path(broken, torchlinreg:::MADE_HERE))   # one install_torchlinreg() made
  expect_message(venv <- torchlinreg:::reusable_virtualenv(broken, NULL, force = FALSE),
                 "Rebuilding the virtualenv .*broken \\(it is broken: it does not exist\\)")
  expect_null(venv)
  expect_false(file.exists(broken))

  other <- file.path(home, "other")
  dir.create(other)
  writeLines("x", file.path(other, "notes.txt"))
  expect_error(torchlinreg:::reusable_virtualenv(other, NULL, force = TRUE),
               class = "torchlinreg_install_error", regexp = "is not a virtualenv")
  expect_true(file.exists(file.path(other, "notes.txt")))

  python <- base_python()
  shared <- make_sharing_virtualenv(python, file.path(home, "shared"))
  skip_if_not(is.null(torchlinreg:::probe_python(file.path(shared, "bin", "python"), "pip")$problem),
              "the test Python has no pip to share")
  someone <- list(base = "/opt/another/python3")
  expect_error(torchlinreg:::reusable_virtualenv(shared, someone, force = FALSE),
               class = "torchlinreg_install_error", regexp = "was made from .*force = TRUE rebuilds it")
  expect_false(is.null(torchlinreg:::reusable_virtualenv(shared, NULL, force = FALSE)))
  expect_message(torchlinreg:::reusable_virtualenv(shared, NULL, force = TRUE), "force = TRUE")
  expect_false(file.exists(shared))
})

test_that("the pins the R package carries are requirements.txt's", {
  repo <- repository()
  skip_if(is.null(repo), "not in a source checkout")
  python <- base_python()
  staged <- withr::local_tempdir()
  status <- system2(python, c("-I", file.path(repo, "tools", "stage_python.py"), repo, staged),
                    env = "LD_LIBRARY_PATH=")
  expect_identical(status, 0L)
  pins <- torchlinreg:::read_requirements(file.path(staged, "requirements.txt"))
  lines <- trimws(sub("#.*", "", readLines(file.path(repo, "requirements.txt"))))
  name <- function(x) sub("[<>=!~;\\[ ].*", "", x)
  versioned <- lines[nzchar(lines) & lines != name(lines)]
  # Every package requirements.txt gives a version gets exactly that line.
  for (pin in unlist(pins[names(pins) != "cuda"])) {
    if (name(pin) %in% name(versioned)) expect_identical(pin, versioned[name(versioned) == name(pin)])
  }
  expect_identical(pins$core, c("torch==2.13.0", "numpy<2", "pandas<3", "scipy", "threadpoolctl>=3"))
  expect_identical(pins$files, "pyarrow>=14,<21")
  expect_identical(pins$cuda, "torch>=2.0")   # no pin to the CPU build
  expect_true(file.exists(file.path(staged, "torchlinreg", "__init__.py")))
  installed <- system.file("python", "requirements.txt", package = "torchlinreg")
  if (nzchar(installed)) {
    expect_identical(readLines(installed), readLines(file.path(staged, "requirements.txt")))
  }
})

test_that("torch comes from PyTorch's CPU index alone, or for CUDA unpinned from pip's indexes", {
  requirements <- list(core = c("torch==2.13.0", "numpy<2"), cuda = "torch>=2.0",
                       files = "pyarrow>=14,<21")
  index <- "https://download.pytorch.org/whl/cpu"
  expect_identical(torchlinreg:::pip_runs(requirements, character(), "cpu", index, "/p"),
                   list(c("torch==2.13.0", "--index-url", index), c("torch==2.13.0", "numpy<2", "/p")))
  expect_identical(torchlinreg:::pip_runs(requirements, "files", "cpu", "", "/p"),
                   list(c("torch==2.13.0", "numpy<2", "pyarrow>=14,<21", "/p[files]")))
  expect_identical(torchlinreg:::pip_runs(requirements, "files", "cuda", index, "/p"),
                   list(c("numpy<2", "torch>=2.0", "pyarrow>=14,<21", "/p[files]")))
})

test_that("a failed install removes the virtualenv it made and shows pip's last lines", {
  skip_if_not(nzchar(system.file("python", package = "torchlinreg")),
              "this torchlinreg was installed without its Python sources (make installs the tarball)")
  python <- base_python()
  dir <- file.path(withr::local_tempdir(), "env")
  # No index and no wheels: pip fails at once.
  withr::local_envvar(PIP_NO_INDEX = "1", PIP_FIND_LINKS = "", PIP_CONFIG_FILE = "/dev/null")
  withr::local_options(torchlinreg.torch_index = "file:///nonexistent/simple")
  e <- tryCatch(install_torchlinreg(envname = dir, python = python), error = identity)
  expect_s3_class(e, "torchlinreg_install_error")
  expect_match(conditionMessage(e), "pip install torch==2\\.13\\.0 .* failed:\n.*No matching distribution")
  expect_match(conditionMessage(e), "options(torchlinreg.torch_index = ) names another index", fixed = TRUE)
  expect_false(file.exists(dir))
  expect_error(install_torchlinreg(envname = dir, extras = "nope"),
               class = "torchlinreg_install_error", regexp = "unknown extras \"nope\"; .*files")
})

# The whole path an R user takes: the tarball into a fresh library, then
# install_torchlinreg() into a fresh virtualenv from the wheels pip can reach
# (about a minute); a fit in a new R process against lm(); then the same after
# the virtualenv is broken, which is detected and rebuilt with force = TRUE.
test_that("the built tarball installs its own Python side and fits like lm()", {
  skip_if_not(nzchar(Sys.getenv("TORCHLINREG_TEST_INSTALL")),
              "the full install runs with TORCHLINREG_TEST_INSTALL=1 (make test sets it)")
  repo <- repository()
  skip_if(is.null(repo), "not in a source checkout")
  python <- base_python()
  work <- withr::local_tempdir()
  lib <- file.path(work, "lib")
  dir.create(lib)
  build <- system2(file.path(repo, "tools", "build_r_package.sh"), work, stdout = TRUE, stderr = TRUE,
                   env = "LD_LIBRARY_PATH=")
  tarball <- utils::tail(build, 1)
  expect_true(file.exists(tarball), label = paste(build, collapse = "\n"))
  r <- file.path(R.home("bin"), "R")
  installed <- system2(r, c("CMD", "INSTALL", "--no-test-load", paste0("--library=", lib), tarball),
                       stdout = TRUE, stderr = TRUE)
  expect_null(attr(installed, "status"), label = paste(installed, collapse = "\n"))

  # A new R user: nothing chosen, no checkout on any path.
  env <- c(R_LIBS = lib, WORKON_HOME = file.path(work, "virtualenvs"), TORCHLINREG_PYTHON = NA,
           RETICULATE_PYTHON = NA, RETICULATE_PYTHON_ENV = NA, VIRTUAL_ENV = NA, PYTHONPATH = NA)
  rscript <- function(code) {
    out <- withr::with_dir(work, withr::with_envvar(env, system2(
      file.path(R.home("bin"), "Rscript"), c("-e", shQuote(code)), stdout = TRUE, stderr = TRUE)))
    paste(out, collapse = "\n")
  }
  install <- "options(torchlinreg.torch_index = ''); torchlinreg::install_torchlinreg(%s)"
  fit <- paste(sep = "\n",
    "fit <- torchlinreg::torch_lm(dist ~ speed, data = cars, seed = 1)",
    "ref <- lm(dist ~ speed, data = cars)",
    "cat('COEF', max(abs(coef(fit) / coef(ref) - 1)) < 1e-6,",
    "    max(abs(summary(fit)$coefficients[, 2] / summary(ref)$coefficients[, 2] - 1)) < 1e-6, '\\n')",
    "cat('PYTHON', reticulate::py_config()$python, '\\n')")
  venv <- file.path(work, "virtualenvs", "r-torchlinreg")

  out <- rscript(sprintf(install, ""))
  expect_match(out, "torchlinreg 0\\.1\\.0 \\(torch 2\\.13\\.0[^)]*\\) installed in the virtualenv .*r-torchlinreg \\([0-9.]+ [GM]B\\) in [0-9]+ s\\.")
  expect_false(grepl("Rebuilding", out))
  # pip built in a copy: nothing was written into the installed package.
  expect_identical(sort(list.files(file.path(lib, "torchlinreg", "python"))),
                   c("pyproject.toml", "requirements.txt", "torchlinreg"))
  out <- rscript(fit)
  expect_match(out, "COEF TRUE TRUE", fixed = TRUE)
  expect_match(out, paste("PYTHON", file.path(venv, "bin", "python")), fixed = TRUE)

  # Broken: its base Python is gone (as after an upgrade of that Python).
  for (name in list.files(file.path(venv, "bin"), pattern = "^python")) {
    unlink(file.path(venv, "bin", name))
    file.symlink("/nonexistent/python3", file.path(venv, "bin", name))
  }
  out <- suppressWarnings(rscript(fit))   # it fails, and system2() warns of that
  expect_match(out, "is broken.*install_torchlinreg\\(force = TRUE\\)")
  out <- rscript(sprintf(install, "force = TRUE"))
  expect_match(out, "Rebuilding the virtualenv .*r-torchlinreg \\(force = TRUE\\)")
  expect_match(out, "installed in the virtualenv .*r-torchlinreg")
  out <- rscript(fit)
  expect_match(out, "COEF TRUE TRUE", fixed = TRUE)
})
