test_that("predict() with no newdata gives the fitted values", {
  skip_if_no_python()
  fit <- torch_lm(mpg ~ wt + factor(cyl), data = mtcars, seed = 1)
  reference <- lm(mpg ~ wt + factor(cyl), data = mtcars)
  expect_close(predict(fit), predict(reference))
  expect_warning(p <- predict(fit, interval = "prediction"), "future")
  expect_close(p, suppressWarnings(predict(reference, interval = "prediction")))
})

test_that("new factor levels and missing columns fail as in predict.lm()", {
  skip_if_no_python()
  fit <- torch_lm(Sepal.Length ~ Species, data = iris, seed = 1)
  expect_error(predict(fit, data.frame(Species = "unknown")), "new level")
  expect_error(predict(fit, data.frame(x = 1)))
})

test_that("levels and interval arguments are checked", {
  skip_if_no_python()
  fit <- torch_lm(dist ~ speed, data = cars, seed = 1)
  expect_error(predict(fit, cars, interval = "wrong"))
  p <- predict(fit, cars[1:2, ], interval = "confidence", level = 0.5)
  expect_identical(colnames(p), c("fit", "lwr", "upr"))
  expect_true(all(p[, "lwr"] < p[, "fit"] & p[, "fit"] < p[, "upr"]))
})
