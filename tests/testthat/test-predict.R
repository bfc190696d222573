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

test_that("weights, pred.var, scale and df of prediction limits are predict.lm()'s", {
  skip_if_no_python()
  fit <- torch_lm(mpg ~ wt + hp, data = mtcars, weights = cyl, seed = 1)
  reference <- lm(mpg ~ wt + hp, data = mtcars, weights = cyl)
  nd <- mtcars[c(1, 5, 20), ]
  warned <- function(expr) {  # the value, and the messages of the warnings it gave
    messages <- character()
    value <- withCallingHandlers(expr, warning = function(w) {
      messages <<- c(messages, conditionMessage(w))
      invokeRestart("muffleWarning")
    })
    list(value = value, messages = messages)
  }
  same <- function(...) {
    expected <- warned(predict(reference, ...))
    actual <- warned(predict(fit, ...))
    a <- unlist(actual$value)
    e <- unlist(expected$value)
    expect_identical(a[!is.finite(e)], e[!is.finite(e)])  # df = Inf
    expect_close(a[is.finite(e)], e[is.finite(e)], 1e-8)
    expect_identical(names(actual$value), names(expected$value))
    expect_identical(actual$messages, expected$messages)
  }
  # without newdata and weights: the fit's weights, with predict.lm()'s warnings
  same(interval = "prediction")
  same(nd, interval = "prediction")  # constant variance, with its warning
  same(nd, interval = "prediction", weights = 2)
  same(nd, interval = "prediction", weights = ~ cyl)  # a formula, evaluated in newdata
  same(interval = "prediction", weights = ~ wt)       # ... or in the model frame
  same(nd, interval = "prediction", pred.var = 3)
  same(nd, interval = "prediction", pred.var = c(1, 2, 3), level = 0.9)
  same(nd, se.fit = TRUE, scale = 2)                        # df = Inf: the normal quantile
  same(nd, se.fit = TRUE, scale = 2, df = 10, interval = "confidence")
  same(nd, TRUE, 2, 10, "prediction")                      # predict.lm()'s argument order
  expect_error(predict(fit, nd, interval = "prediction", weights = y ~ cyl), "one-sided")
})
