# The progress bar (verbose =): the same fit, bit for bit, with or without it.

test_that("verbose = TRUE shows a progress bar and changes nothing, bit for bit", {
  skip_if_no_python()
  same <- function(a, b) {
    expect_identical(coef(a), coef(b))
    expect_identical(a$history, b$history)
    expect_identical(a$convergence, b$convergence)
    expect_identical(a$settings, b$settings)
  }
  plain <- torch_lm(dist ~ speed, data = cars, seed = 1, verbose = FALSE)
  expect_identical(plain$convergence$stop_reason, "converged")
  bar <- capture.output(with_bar <- torch_lm(dist ~ speed, data = cars, seed = 1, verbose = TRUE))
  expect_match(paste(bar, collapse = ""), "100%")
  same(with_bar, plain)
  # minibatches up to the epoch limit
  args <- list(formula = mpg ~ hp + wt, data = mtcars, seed = 5, batch_size = 8, epochs = 20,
               optimizer = "sgd", lr = 0.01)
  plain <- quiet(do.call(torch_lm, c(args, verbose = FALSE)))
  capture.output(with_bar <- quiet(do.call(torch_lm, c(args, verbose = TRUE))))
  expect_identical(plain$convergence$stop_reason, "max_epochs")
  same(with_bar, plain)
  # stopped short of convergence: one warning (not one a chunk), an R warning of the Python class
  warned <- list()
  capture.output(short <- withCallingHandlers(
    torch_lm(dist ~ speed, data = cars, seed = 1, epochs = 20, verbose = TRUE),
    warning = function(w) {
      warned[[length(warned) + 1]] <<- w
      invokeRestart("muffleWarning")
    }))
  same(short, quiet(torch_lm(dist ~ speed, data = cars, seed = 1, epochs = 20, verbose = FALSE)))
  expect_length(warned, 1)
  expect_s3_class(warned[[1]], "torchlinreg_convergence_warning")
  expect_match(conditionMessage(warned[[1]]), "stopped after 20")
  # and a resumed fit with a bar is the straight one
  capture.output(resumed <- quiet(torch_lm(mpg ~ hp + wt, data = mtcars, resume = plain,
                                           epochs = 20, verbose = TRUE)))
  straight <- quiet(do.call(torch_lm, c(utils::modifyList(args, list(epochs = 40)), verbose = FALSE)))
  same(resumed, straight)
})

test_that("an interrupt between chunks returns the fit so far, marked interrupted", {
  skip_if_no_python()
  types <- reticulate::import("types", convert = FALSE)
  handle <- types$SimpleNamespace(settings = reticulate::dict())
  calls <- 0
  core <- function(resume, epochs, verbose, hold_warnings) {
    calls <<- calls + 1
    if (calls == 2) signalCondition(structure(list(), class = c("interrupt", "condition")))
    list(python_fit = handle, settings = list(epochs = epochs), warnings = list(),
         convergence = list(converged = FALSE, n_iter = epochs, stop_reason = "max_epochs"))
  }
  out <- torchlinreg:::fit_in_chunks(core, list(epochs = 1000), NULL, NULL, lazy = TRUE)
  expect_identical(out$convergence$stop_reason, "interrupted")
  expect_equal(out$convergence$n_iter, 10)
  first <- function(...) signalCondition(structure(list(), class = c("interrupt", "condition")))
  expect_error(torchlinreg:::fit_in_chunks(first, list(epochs = 10), NULL, NULL, lazy = TRUE),
               class = "torchlinreg_interrupted")
})
