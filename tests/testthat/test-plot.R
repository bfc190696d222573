# How many pages `expr` draws.
count_pages <- function(expr) {
  dir <- withr::local_tempdir()
  grDevices::png(file.path(dir, "page%03d.png"))
  force(expr)
  grDevices::dev.off()
  length(list.files(dir))
}

test_that("plot() draws the loss and the parameter paths on one page, or one of them", {
  skip_if_no_python()
  fit <- torch_lm(dist ~ speed, data = cars, seed = 1, validation = 0.2)
  expect_identical(count_pages(expect_null(plot(fit))), 1L)
  expect_identical(count_pages(plot(fit, which = "loss")), 1L)
  expect_identical(count_pages(plot(fit, which = "parameters", log_loss = FALSE)), 1L)
  expect_error(plot(fit, which = "nope"), "should be one of")
})

test_that("plot(which = <number>) draws lm()'s diagnostic plot, one page each", {
  skip_if_no_python()
  fit <- torch_lm(dist ~ speed, data = cars, seed = 1)
  for (which in 1:6) expect_identical(count_pages(plot(fit, which = which)), 1L)
  expect_identical(count_pages(plot(fit, which = c(1, 2))), 2L)
})

test_that("autoplot() gives the loss or the parameter figure as a ggplot", {
  skip_if_no_python()
  skip_if_not_installed("ggplot2")
  fit <- torch_lm(dist ~ speed, data = cars, seed = 1, validation = 0.2)
  loss <- ggplot2::autoplot(fit)
  expect_s3_class(loss, "ggplot")
  expect_setequal(levels(loss$data$series), c("training", "validation"))
  parameters <- ggplot2::autoplot(fit, "parameters")
  expect_setequal(levels(parameters$data$series), c("(Intercept)", "speed"))
  expect_identical(nrow(parameters$data), 2L * nrow(fit$history))
  expect_identical(count_pages(print(loss)), 1L)
})
