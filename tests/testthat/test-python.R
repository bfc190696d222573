test_that("Python errors arrive as classed R conditions with the Python message", {
  skip_if_no_python()
  e <- tryCatch(torch_lm(dist ~ speed, data = cars, lr = -1), error = identity)
  expect_s3_class(e, "torchlinreg_option_error")
  expect_s3_class(e, "torchlinreg_error")
  expect_identical(e$python_type, "OptionError")
  expect_match(conditionMessage(e), "lr must be a positive finite number")
  expect_false(grepl("Traceback", conditionMessage(e)))
  expect_error(torch_lm(dist ~ speed, data = cars, optimizer = "nope"),
               class = "torchlinreg_option_error", regexp = "adam")
  expect_error(torch_lm(dist ~ speed, data = cars, weights = rep(-1, 50)),
               class = "torchlinreg_input_error", regexp = "non-negative")
  expect_error(torch_lm(dist ~ speed, data = cars, batch_size = 500),
               class = "torchlinreg_error", regexp = "batch_size")
})

test_that("a diverging fit raises torchlinreg_divergence with the history so far", {
  skip_if_no_python()
  e <- tryCatch(torch_lm(dist ~ speed, data = cars, optimizer = "sgd", lr = 1e4,
                         standardize = FALSE, seed = 1), error = identity)
  expect_s3_class(e, "torchlinreg_divergence")
  expect_s3_class(e, "torchlinreg_divergence_error")
  expect_s3_class(e, "torchlinreg_error")
  expect_match(conditionMessage(e), "diverged at step")
  expect_true(e$suggested_lr < 1e4)
  expect_s3_class(e$history, "data.frame")
  expect_true("speed" %in% names(e$history))
})

# A fresh R process, since Python cannot be changed once it runs. `env`
# entries that are NA are unset there.
run_fresh <- function(code, env, dir = getwd()) {
  rscript <- file.path(R.home("bin"), "Rscript")
  env <- c(env, R_LIBS = paste(.libPaths(), collapse = ":"))
  out <- withr::with_dir(dir, withr::with_envvar(
    env, system2(rscript, c("-e", shQuote(code)), stdout = TRUE, stderr = TRUE)))
  paste(out, collapse = "\n")
}

# No Python chosen anywhere: what a user sees before choosing one.
NO_CHOICE <- c(TORCHLINREG_PYTHON = NA, RETICULATE_PYTHON = NA, RETICULATE_PYTHON_ENV = NA,
               VIRTUAL_ENV = NA)

# A directory that looks like a virtualenv; its bin/python is `python`
# (a symlink, dangling when `python` does not exist).
fake_virtualenv <- function(dir, python = "/nonexistent/python3") {
  dir.create(file.path(dir, "bin"), recursive = TRUE)
  writeLines("home = /nonexistent", file.path(dir, "pyvenv.cfg"))
  file.symlink(python, file.path(dir, "bin", "python"))
  dir
}

test_that("a missing Python gives one error naming install_torchlinreg() and torchlinreg_config()", {
  out <- run_fresh(paste(
    "e <- tryCatch(torchlinreg::torch_lm(dist ~ speed, data = cars), error = identity);",
    "cat(class(e), '\\n'); cat(conditionMessage(e), '\\n')"),
    c(NO_CHOICE, TORCHLINREG_PYTHON = "/nonexistent/python"))
  expect_match(out, "torchlinreg_python_missing")
  expect_match(out, "install_torchlinreg()", fixed = TRUE)
  expect_match(out, "torchlinreg_config()", fixed = TRUE)
})

test_that("the Python the user chose wins, then TORCHLINREG_PYTHON, then the virtualenv; not the working directory", {
  home <- withr::local_tempdir()
  fake_virtualenv(file.path(home, "r-torchlinreg"), python = file.path(R.home("bin"), "R"))
  checkout <- withr::local_tempdir()   # what find_python() once walked up to
  writeLines("Package: torchlinreg", file.path(checkout, "DESCRIPTION"))
  fake_virtualenv(file.path(checkout, ".venv"), python = file.path(R.home("bin"), "R"))
  chosen <- skip_if_no_real_python()
  out <- run_fresh(paste(sep = "\n",
    "show <- function() cat('ORDER', torchlinreg:::find_python()$source, '\\n')",
    "show()",
    "Sys.setenv(TORCHLINREG_PYTHON = '/t/bin/python'); show()",
    "Sys.setenv(VIRTUAL_ENV = '/v'); show()",
    sprintf("reticulate::use_python('%s'); show()", chosen),
    "Sys.setenv(RETICULATE_PYTHON_ENV = '/e'); show()",
    "Sys.setenv(RETICULATE_PYTHON = '/r/bin/python'); show()",
    "cat('PYTHON', torchlinreg:::find_python()$python, '\\n')"),
    c(NO_CHOICE, WORKON_HOME = home), dir = checkout)
  expect_match(out, paste0("ORDER virtualenv \nORDER TORCHLINREG_PYTHON \nORDER VIRTUAL_ENV \n",
                           "ORDER use_python \nORDER RETICULATE_PYTHON_ENV \n",
                           "ORDER RETICULATE_PYTHON \nPYTHON /r/bin/python"), fixed = TRUE)
  # Nothing chosen, no virtualenv: none, whatever the working directory holds.
  out <- run_fresh("cat('ORDER', torchlinreg:::find_python()$source, '\\n')",
                   c(NO_CHOICE, WORKON_HOME = withr::local_tempdir()), dir = checkout)
  expect_match(out, "ORDER none", fixed = TRUE)
})

test_that("a Python chosen with reticulate::use_virtualenv() before the first fit is the one used", {
  base <- skip_if_no_real_python()
  venv <- file.path(withr::local_tempdir(), "chosen")
  # A virtualenv without pip that sees the test Python's packages (torch, numpy).
  make_sharing_virtualenv(base, venv)
  out <- run_fresh(paste(sep = "\n",
    sprintf("reticulate::use_virtualenv('%s')", venv),
    "fit <- torchlinreg::torch_lm(dist ~ speed, data = cars, seed = 1)",
    "cat('COEF', max(abs(coef(fit) / coef(lm(dist ~ speed, cars)) - 1)) < 1e-6, '\\n')",
    "cat('USED', reticulate::py_config()$python, '\\n')",
    "info <- torchlinreg::torchlinreg_config()"),
    c(NO_CHOICE, TORCHLINREG_PYTHON = base))   # TORCHLINREG_PYTHON ranks below the choice
  expect_match(out, "COEF TRUE", fixed = TRUE)
  expect_match(out, paste("USED", file.path(venv, "bin", "python")), fixed = TRUE)
  expect_match(out, "chosen by: +reticulate::use_python\\(\\) or use_virtualenv\\(\\)")
})

test_that("a chosen Python without torch is named, with the install into it", {
  base <- skip_if_no_real_python()
  venv <- file.path(withr::local_tempdir(), "bare")
  status <- system2(base, c("-I", "-m", "venv", "--without-pip", shQuote(venv)), env = "LD_LIBRARY_PATH=")
  expect_identical(status, 0L)
  out <- run_fresh(paste(
    "e <- tryCatch(torchlinreg::torch_lm(dist ~ speed, data = cars), error = identity);",
    "cat(conditionMessage(e), '\\n')"),
    c(NO_CHOICE, RETICULATE_PYTHON = file.path(venv, "bin", "python"), PYTHONPATH = NA))
  expect_match(out, "chosen because the environment variable RETICULATE_PYTHON is set")
  expect_match(out, sprintf("install_torchlinreg(envname = \"%s\")", venv), fixed = TRUE)
})

test_that("a broken r-torchlinreg virtualenv is reported as broken, with what to do", {
  home <- withr::local_tempdir()
  fake_virtualenv(file.path(home, "r-torchlinreg"))
  out <- run_fresh(paste(
    "e <- tryCatch(torchlinreg::torch_lm(dist ~ speed, data = cars), error = identity);",
    "cat(class(e), '\\n'); cat(conditionMessage(e), '\\n');",
    "info <- torchlinreg::torchlinreg_config(start = FALSE)"),
    c(NO_CHOICE, WORKON_HOME = home))
  expect_match(out, "torchlinreg_python_missing")
  expect_match(out, "is broken")
  expect_match(out, "install_torchlinreg(force = TRUE)", fixed = TRUE)
})

test_that("torchlinreg_config(start = FALSE) reports only what it checked", {
  out <- run_fresh("info <- torchlinreg::torchlinreg_config(start = FALSE)",
                   c(NO_CHOICE, TORCHLINREG_PYTHON = "/nonexistent/python"))
  expect_match(out, "chosen by: +the environment variable TORCHLINREG_PYTHON")
  expect_match(out, "torch: +not checked \\(start = FALSE\\)")
  expect_false(grepl("not found", out))
})

test_that("torchlinreg_config() reports what it found", {
  skip_if_no_python()
  out <- capture.output(info <- torchlinreg_config())
  expect_true(info$available)
  expect_match(paste(out, collapse = "\n"), "torch:")
  expect_identical(info$torchlinreg, as.character(utils::packageVersion("torchlinreg")))
})

test_that("a first torch_lm() imports in Python what a fit needs and nothing more", {
  skip_if_no_python()
  # A fresh R: no pandas, scipy or torch._dynamo for a fit (seconds on a first fit);
  # scipy.special (not scipy.stats) once summary() needs p-values, as lm()'s.
  out <- run_fresh(paste(
    "library(torchlinreg); fit <- torch_lm(mpg ~ wt + hp, data = mtcars, seed = 1);",
    "loaded <- function() reticulate::py_eval(paste0(\"' '.join(m for m in ('pandas', 'scipy',",
    "'scipy.special', 'scipy.stats', 'torch._dynamo', 'matplotlib') if m in",
    "__import__('sys').modules)\"));",
    "cat('fit:', loaded(), '\\n'); s <- summary(fit);",
    "cat('summary:', loaded(), '\\n');",
    "cat('p:', all.equal(s$coefficients[, 4], summary(lm(mpg ~ wt + hp, mtcars))$coefficients[, 4],",
    "tolerance = 1e-6), '\\n')"),
    c(TORCHLINREG_PYTHON = find_python()$python))
  expect_match(out, "fit: *\n")
  expect_match(out, "summary: scipy scipy.special *\n")
  expect_match(out, "p: TRUE", fixed = TRUE)
})
