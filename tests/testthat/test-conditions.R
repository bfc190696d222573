test_that("abort() builds the class vector: prefixed, most specific first, then torchlinreg_error", {
  e <- tryCatch(torchlinreg:::abort("bad", c("shape_error", "input_error")), error = identity)
  expect_identical(class(e), c("torchlinreg_shape_error", "torchlinreg_input_error",
                               "torchlinreg_error", "error", "condition"))
  expect_identical(conditionMessage(e), "bad")
  expect_null(conditionCall(e))
  # names already prefixed are kept, torchlinreg_error is not doubled
  e <- tryCatch(torchlinreg:::abort("x", c("torchlinreg_install_error", "torchlinreg_error")),
                error = identity)
  expect_identical(class(e), c("torchlinreg_install_error", "torchlinreg_error", "error", "condition"))
  e <- tryCatch(torchlinreg:::abort("x", "input_error", list(step = 3L)), error = identity)
  expect_identical(e$step, 3L)
})

test_that("an interruption is also an R interrupt", {
  e <- tryCatch(torchlinreg:::abort("stop", "interrupted"), condition = identity)
  expect_s3_class(e, "interrupt")
  expect_s3_class(e, "torchlinreg_interrupted")
  expect_s3_class(e, "torchlinreg_error")
})

test_that("warn() raises a classed warning and Python names become R names", {
  expect_warning(torchlinreg:::warn("slow", c("convergence_warning", "warning")),
                 class = "torchlinreg_convergence_warning")
  expect_identical(torchlinreg:::snake_case(c("ConvergenceWarning", "ValueError")),
                   c("convergence_warning", "value_error"))
})
