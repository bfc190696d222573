test_that("plot() draws the loss and parameter figures", {
  skip_if_no_python()
  fit <- torch_lm(dist ~ speed, data = cars, seed = 1, validation = 0.2)
  path <- withr::local_tempfile(fileext = ".pdf")
  grDevices::pdf(path)
  on.exit(grDevices::dev.off(), add = TRUE)
  plots <- plot(fit)
  if (requireNamespace("ggplot2", quietly = TRUE)) {
    expect_named(plots, c("loss", "parameters"))
    expect_s3_class(plots$loss, "ggplot")
    expect_setequal(levels(plots$loss$data$series), c("training", "validation"))
  }
  expect_null(torchlinreg:::base_plot(torchlinreg:::plot_data(fit)$loss, "loss", TRUE))
  expect_null(torchlinreg:::base_plot(torchlinreg:::plot_data(fit)$parameters, "parameters", TRUE))
})
