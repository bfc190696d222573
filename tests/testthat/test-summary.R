test_that("the summary prints like summary.lm plus how the fit ended", {
  skip_if_no_python()
  fit <- torch_lm(dist ~ speed, data = cars, seed = 1)
  s <- summary(fit)
  expect_s3_class(s, "summary.torch_lm")
  out <- paste(capture.output(print(s)), collapse = "\n")
  ref <- paste(capture.output(print(summary(lm(dist ~ speed, cars)))), collapse = "\n")
  # Everything from "Residuals:" to the F statistic is printed as lm() prints it.
  body <- function(x) trimws(sub("\n\nFitted by.*", "", sub("^.*?Residuals:", "Residuals:", x)))
  expect_identical(body(out), body(ref))
  # How the fit ended, in the words of the Python core's summary.
  ending <- sprintf(paste0("Fitted by adam (lr 0.1, full batch, float64, engine gram) in %d steps: ",
                           "converged (gradient norm below %g of its start)."),
                    fit$convergence$n_steps, fit$settings$tol)
  expect_identical(s$description, ending)
  expect_true(grepl(ending, out, fixed = TRUE))
})

test_that("the summary says how a fit that did not converge ended, as Python's does", {
  skip_if_no_python()
  limit <- suppressWarnings(torch_lm(dist ~ speed, data = cars, optimizer = "sgd", lr = 0.01,
                                     batch_size = 10, epochs = 3, seed = 1))
  ending <- paste("Fitted by sgd (lr 0.01, batch size 10, float64, engine gram) in 3 epochs",
                  "(15 updates): stopped at the epoch limit before converging.")
  expect_identical(summary(limit)$description, ending)
  expect_output(print(limit), ending, fixed = TRUE)
  early <- torch_lm(mpg ~ ., data = mtcars, validation = 0.3, stop_iter = 5, lr = 0.01, seed = 1)
  expect_identical(early$convergence$stop_reason, "early_stopping")
  expect_output(print(summary(early)), paste0(
    "in ", early$convergence$n_steps, " steps: stopped early: the validation loss set no new ",
    "low in 5 steps."), fixed = TRUE)
  # A fit read back says it as the core says it (files saved before R kept the sentence too).
  path <- withr::local_tempfile(fileext = ".npz")
  save_fit(limit, path)
  expect_identical(load_fit(path)$convergence$description, ending)
})

test_that("summaries of weighted, missing and held-out fits say so", {
  skip_if_no_python()
  expect_output(print(summary(torch_lm(mpg ~ wt, data = mtcars, weights = cyl, seed = 1))),
                "Weighted Residuals")
  expect_output(print(summary(torch_lm(Ozone ~ Wind, data = airquality, seed = 1))),
                "37 observations deleted due to missingness")
  expect_output(print(summary(torch_lm(mpg ~ wt, data = mtcars, validation = 0.25, seed = 1))),
                "8 rows held out for validation")
})

test_that("summary(correlation = TRUE) gives and prints summary.lm()'s correlations", {
  skip_if_no_python()
  fit <- torch_lm(mpg ~ wt + hp + factor(cyl), data = mtcars, seed = 1)
  reference <- lm(mpg ~ wt + hp + factor(cyl), data = mtcars)
  for (symbolic in c(FALSE, TRUE)) {
    s <- summary(fit, correlation = TRUE, symbolic.cor = symbolic)
    r <- summary(reference, correlation = TRUE, symbolic.cor = symbolic)
    expect_close(s$correlation, r$correlation, 1e-8)
    expect_identical(dimnames(s$correlation), dimnames(r$correlation))
    expect_identical(s$symbolic.cor, r$symbolic.cor)
    block <- function(x) {
      out <- capture.output(print(x))
      out[seq(grep("^Correlation of Coefficients", out), length(out))]
    }
    expect_identical(block(s)[seq_along(block(r)) - 1L], block(r)[-length(block(r))])
  }
  expect_null(summary(fit)$correlation)
  two <- summary(torch_lm(cbind(mpg, qsec) ~ wt + hp, data = mtcars, seed = 1), correlation = TRUE)
  expect_close(two[[2]]$correlation,
               summary(lm(qsec ~ wt + hp, data = mtcars), correlation = TRUE)$correlation, 1e-8)
})
