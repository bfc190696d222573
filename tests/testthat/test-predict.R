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

test_that("se.fit keeps its digits on a column far from zero (centred design)", {
  skip_if_no_python()
  set.seed(1)
  d <- data.frame(x = 1e6 + rnorm(50), z = rnorm(50))
  d$y <- 2 + 3 * d$x + d$z + rnorm(50)
  new <- data.frame(x = 1e6 + c(-1, 0, 2), z = c(0, 1, -1))
  ours <- predict(torch_lm(y ~ x + z, d, seed = 1), new, se.fit = TRUE)$se.fit
  ref <- predict(lm(y ~ x + z, d), new, se.fit = TRUE)$se.fit
  expect_close(ours, ref, rel = 1e-9)  # was 1.6e-4 off before the centred design
})

test_that("se.fit and limits of columns of 1e-165 and 1e300 are lm()'s (leverages in power-of-two units)", {
  skip_if_no_python()
  # (X'X)^-1 in the data's units is 1e330 at x * 1e-165, beyond double: se.fit was NaN.
  # predict.lm() works from qr.R, whose inverse double holds, so lm() itself is the truth.
  for (scale in c(1e-165, 1e300)) {
    d <- mtcars[c("mpg", "wt", "hp", "qsec")]
    d[c("wt", "hp")] <- d[c("wt", "hp")] * scale
    new <- d[1:5, c("wt", "hp", "qsec")] * 1.5
    fit <- torch_lm(mpg ~ wt + hp + qsec, d, seed = 1)
    reference <- lm(mpg ~ wt + hp + qsec, d)
    for (interval in c("confidence", "prediction")) {
      ours <- predict(fit, new, se.fit = TRUE, interval = interval)
      ref <- predict(reference, new, se.fit = TRUE, interval = interval)
      expect_close(ours$se.fit, ref$se.fit, rel = 1e-9)
      expect_close(ours$fit, ref$fit, rel = 1e-9)
    }
  }
})
