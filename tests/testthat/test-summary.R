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
  expect_match(out, "Fitted by adam \\(lr 0.1, full batch, float64\\) in [0-9]+ steps: converged")
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
