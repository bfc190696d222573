test_that("every fit goes through the validating constructor", {
  skip_if_no_python()
  fit <- torch_lm(mpg ~ wt, data = mtcars, seed = 1)
  expect_identical(torchlinreg:::validate_torch_lm(fit), fit)
  broken <- fit
  broken$coefficients <- NULL
  expect_error(torchlinreg:::validate_torch_lm(broken), "no coefficients", class = "torchlinreg_invalid_fit")
  broken <- fit
  names(broken$aliased) <- c("a", "b")
  expect_error(torchlinreg:::validate_torch_lm(broken), "aliased", class = "torchlinreg_input_error")
  broken <- fit
  class(broken) <- c("torch_mlm", class(fit))
  expect_error(torchlinreg:::validate_torch_lm(broken), "responses", class = "torchlinreg_error")
})
