# The progress of a fit (R/progress.R): Python's bar in the one bridge call,
# the same fit bit for bit with or without it; the core's warnings as R
# warnings; and Ctrl-C, which returns the fit so far.

test_that("verbose = TRUE shows the core's bar and changes nothing, bit for bit", {
  skip_if_no_python()
  same <- function(a, b) {
    expect_identical(coef(a), coef(b))
    expect_identical(a$history, b$history)
    expect_identical(a$convergence, b$convergence)
    expect_identical(a$settings, b$settings)
  }
  plain <- torch_lm(dist ~ speed, data = cars, seed = 1, verbose = FALSE)
  expect_identical(plain$convergence$stop_reason, "converged")
  same(torch_lm(dist ~ speed, data = cars, seed = 1, verbose = TRUE), plain)
  # minibatches up to the epoch limit
  args <- list(formula = mpg ~ hp + wt, data = mtcars, seed = 5, batch_size = 8, epochs = 20,
               optimizer = "sgd", lr = 0.01)
  plain <- quiet(do.call(torch_lm, c(args, verbose = FALSE)))
  with_bar <- quiet(do.call(torch_lm, c(args, verbose = TRUE)))
  expect_identical(plain$convergence$stop_reason, "max_epochs")
  same(with_bar, plain)
  # and a resumed fit with a bar is the straight one
  resumed <- quiet(torch_lm(mpg ~ hp + wt, data = mtcars, resume = plain, epochs = 20,
                            verbose = TRUE))
  straight <- quiet(do.call(torch_lm, c(utils::modifyList(args, list(epochs = 40)), verbose = FALSE)))
  same(resumed, straight)
})

test_that("the bar is drawn on the R process's standard error, by the one Python call", {
  skip_if_no_python()
  script <- withr::local_tempfile(fileext = ".R")
  writeLines(c("library(torchlinreg)",
               "fit <- torch_lm(dist ~ speed, data = cars, seed = 1, verbose = TRUE)",
               "fit <- torch_lm(dist ~ speed, data = cars, seed = 1, verbose = FALSE)"), script)
  withr::local_envvar(R_LIBS = paste(.libPaths(), collapse = .Platform$path.sep),
                      TORCHLINREG_PYTHON = torchlinreg:::find_python()$python)
  err <- withr::local_tempfile()
  out <- system2(file.path(R.home("bin"), "Rscript"), script, stdout = TRUE, stderr = err)
  bar <- paste(readLines(err, warn = FALSE), collapse = "\n")
  expect_match(bar, "/10000 [", fixed = TRUE)
  expect_match(bar, "step/s")
  expect_length(out, 0)
})

test_that("the core's warnings are R warnings of the Python class, once", {
  skip_if_no_python()
  for (verbose in c(FALSE, TRUE)) {
    warned <- list()
    short <- withCallingHandlers(
      torch_lm(dist ~ speed, data = cars, seed = 1, epochs = 20, verbose = verbose),
      warning = function(w) {
        warned[[length(warned) + 1]] <<- w
        invokeRestart("muffleWarning")
      })
    expect_length(warned, 1)
    expect_s3_class(warned[[1]], "torchlinreg_convergence_warning")
    expect_s3_class(warned[[1]], "torchlinreg_warning")
    expect_match(conditionMessage(warned[[1]]), "stopped after 20")
    expect_identical(short$convergence$stop_reason, "max_epochs")
  }
  expect_silent(torch_lm(dist ~ speed, data = cars, seed = 1))
})

test_that("verbose = NULL asks Python for a bar only in interactive sessions", {
  expect_false(torchlinreg:::python_verbose(NULL))
  expect_true(torchlinreg:::python_verbose(TRUE))
  expect_false(torchlinreg:::python_verbose(FALSE))
})

# Ctrl-C (a real SIGINT) while torch_lm() is inside Python returns the fit so
# far, marked "interrupted" (issue 6). R owns SIGINT; the bridge hands it to
# Python for each call and gives it back afterwards.

# The child: a long fit after a short one (Python and torch started), which
# writes `started` just before the long fit and saves what it returns.
CHILD <- '
args <- commandArgs(TRUE)
library(torchlinreg)
set.seed(1)
n <- 5000
x <- matrix(rnorm(n * 8), n, dimnames = list(NULL, paste0("x", 1:8)))
data <- data.frame(y = rowSums(x) + rnorm(n), x)
invisible(suppressWarnings(torch_lm(y ~ ., data, epochs = 2, verbose = FALSE)))
writeLines("training", args[1])
# lr so small that the fit cannot end by itself before the SIGINT, however fast the steps
# (at 1e-5 it converged within the 1.5 s once a step took 25 microseconds)
fit <- torch_lm(y ~ ., data, epochs = 1e6, tol = 0, lr = 1e-7, seed = 0,
                verbose = as.logical(args[3]))
saveRDS(list(convergence = fit$convergence, coefficients = coef(fit), history = fit$history),
        args[2])
'

# Run CHILD in Rscript, send it SIGINT `delay` seconds after it starts the
# long fit, and return what it saved (and its output, for failures).
interrupted_child <- function(verbose, delay = 1.5) {
  dir <- tempfile("interrupt")
  dir.create(dir)
  on.exit(unlink(dir, recursive = TRUE))
  files <- file.path(dir, c("child.R", "pid", "started", "result.rds", "output"))
  names(files) <- c("script", "pid", "started", "result", "output")
  writeLines(CHILD, files[["script"]])
  withr::local_envvar(R_LIBS = paste(.libPaths(), collapse = .Platform$path.sep),
                      TORCHLINREG_PYTHON = torchlinreg:::find_python()$python)
  # sh writes its pid and execs Rscript in its place: the pid is Rscript's
  command <- sprintf("echo $$ > %s; exec %s %s %s %s %s > %s 2>&1",
                     shQuote(files[["pid"]]), shQuote(file.path(R.home("bin"), "Rscript")),
                     shQuote(files[["script"]]), shQuote(files[["started"]]),
                     shQuote(files[["result"]]), verbose, shQuote(files[["output"]]))
  system2("sh", c("-c", shQuote(command)), wait = FALSE)
  output <- function() paste(readLines(files[["output"]], warn = FALSE), collapse = "\n")
  wait_for(function() file.exists(files[["pid"]]) && length(readLines(files[["pid"]])) == 1, 30)
  pid <- as.integer(readLines(files[["pid"]]))
  alive <- function() isTRUE(tools::pskill(pid, 0L))
  if (!wait_for(function() file.exists(files[["started"]]) || !alive(), 120) || !alive()) {
    tools::pskill(pid, tools::SIGKILL)
    stop("the child did not start its fit:\n", output())
  }
  Sys.sleep(delay)
  tools::pskill(pid, tools::SIGINT)
  if (!wait_for(function() !alive(), 120)) {
    tools::pskill(pid, tools::SIGKILL)
    stop("the child did not end after SIGINT:\n", output())
  }
  if (!file.exists(files[["result"]])) stop("the child saved no fit:\n", output())
  list(fit = readRDS(files[["result"]]), output = output())
}

wait_for <- function(done, seconds) {
  deadline <- Sys.time() + seconds
  while (!done()) {
    if (Sys.time() > deadline) return(FALSE)
    Sys.sleep(0.05)
  }
  TRUE
}

expect_interrupted_fit <- function(run) {
  fit <- run$fit
  expect_identical(fit$convergence$stop_reason, "interrupted")
  expect_false(fit$convergence$converged)
  history <- fit$history
  expect_gte(nrow(history), 3)
  expect_equal(nrow(history), fit$convergence$n_iter + 1)
  expect_true(all(diff(history$step) > 0))
  expect_lt(history$loss[nrow(history)], history$loss[1])
  expect_true(all(is.finite(fit$coefficients)))
  # the coefficients are the last recorded step's
  expect_identical(unname(fit$coefficients),
                   unname(unlist(history[nrow(history), names(fit$coefficients)])))
  expect_no_match(run$output, "Error|Traceback|KeyboardInterrupt|Unknown exception")
}

test_that("SIGINT during a single torch_lm() call returns the fit so far, marked interrupted", {
  skip_if_no_python()
  skip_on_os("windows")
  expect_interrupted_fit(interrupted_child(verbose = FALSE))
})

test_that("SIGINT during a fit with the progress bar (verbose = TRUE) returns the fit so far", {
  skip_if_no_python()
  skip_on_os("windows")
  expect_interrupted_fit(interrupted_child(verbose = TRUE))
})

test_that("SIGINT before a bridge call has a result is a classed error, also an R interrupt", {
  skip_if_no_python()
  skip_on_os("windows")
  torchlinreg:::python_bridge()
  # Data that sends this R process SIGINT while Python reads it, before any step.
  module <- reticulate::py_run_string(paste(
    "class CtrlCWhileRead:",
    "    def __init__(self, values): self.values = values",
    "    def __array__(self, dtype=None, copy=None):",
    "        import os, signal, time, numpy",
    "        os.kill(os.getpid(), signal.SIGINT)",
    "        time.sleep(0.5)",
    "        return numpy.asarray(self.values, dtype=dtype)",
    sep = "\n"), local = TRUE, convert = FALSE)
  x <- module$CtrlCWhileRead(matrix(as.numeric(1:40), 20))
  caught <- tryCatch(
    torchlinreg:::bridge_call("torch_lm_fit", x = x, y = as.numeric(1:20), epochs = 3),
    interrupt = identity)
  expect_identical(class(caught), c("torchlinreg_interrupted", "torchlinreg_error", "interrupt",
                                    "error", "condition"))
  expect_identical(conditionMessage(caught),
                   "the fit was interrupted before it had anything to return.")
  # R never saw the signal: no interrupt is pending, and R's handler takes the next one
  expect_identical(tryCatch({
    for (i in 1:1e5) NULL
    Sys.sleep(0.1)
    "no interrupt"
  }, interrupt = function(e) "pending interrupt"), "no interrupt")
  expect_identical(tryCatch({
    tools::pskill(Sys.getpid(), tools::SIGINT)
    Sys.sleep(2)
    "not interrupted"
  }, interrupt = function(e) class(e)), c("interrupt", "condition"))
})
