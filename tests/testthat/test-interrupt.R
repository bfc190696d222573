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
fit <- torch_lm(y ~ ., data, epochs = 1e6, tol = 0, lr = 1e-5, seed = 0,
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

test_that("SIGINT during a fit in chunks (verbose = TRUE) returns the fit so far", {
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
    torchlinreg:::bridge_call("fit_matrix", x = x, y = as.numeric(1:20), epochs = 3),
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
