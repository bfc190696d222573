# model_frame() must give lm()'s model frame in every case: the quick path
# (no NA, stats' own na.action) and the exact one. These compare frames
# built by torchlinreg's model_frame() with those lm() keeps; no Python.

lm_call <- function(...) {
  call <- match.call(stats::lm, sys.call())
  call[[1L]] <- quote(stats::model.frame)
  call$drop.unused.levels <- TRUE
  call
}

frames_match_lm <- function(call, env = parent.frame()) {
  frame <- torchlinreg:::model_frame(call, env)
  fit_call <- call
  fit_call[[1L]] <- quote(stats::lm)
  fit_call$drop.unused.levels <- NULL
  reference <- eval(fit_call, env)$model
  expect_identical(frame, reference)
  frame
}

with_na <- function() {
  d <- data.frame(y = c(1, 3, 2, 5, 4, 7, NA, 8), x = c(1:6, NA, 8),
                  g = factor(c("a", "b", "a", "b", "a", "b", "c", "a")))
  d$y[2] <- NA
  d
}

test_that("without NA the frame is lm()'s, for each of stats' na.actions", {
  d <- data.frame(y = rnorm(20), x = rnorm(20), g = factor(rep(c("a", "b", "c"), length.out = 20)))
  for (action in list(NULL, stats::na.omit, stats::na.exclude, stats::na.fail, "na.omit")) {
    call <- lm_call(y ~ x + g, data = d)
    call["na.action"] <- list(action)
    frames_match_lm(call)
  }
  frames_match_lm(lm_call(y ~ x + g, data = d))
  frames_match_lm(lm_call(y ~ x, data = d, subset = g != "c", weights = abs(x)))
})

test_that("with NA rows are dropped before unused factor levels, as lm() does", {
  d <- with_na()
  frame <- frames_match_lm(lm_call(y ~ x + g, data = d))
  expect_equal(levels(frame$g), c("a", "b"))
  expect_equal(nrow(frame), 6)
  excluded <- frames_match_lm(lm_call(y ~ x + g, data = d, na.action = na.exclude))
  expect_s3_class(attr(excluded, "na.action"), "exclude")
  expect_error(torchlinreg:::model_frame(lm_call(y ~ x, data = d, na.action = na.fail),
                                         environment()),
               "missing values")
})

test_that("options(na.action) and the data's na.action attribute are honoured", {
  d <- with_na()
  withr::with_options(list(na.action = "na.exclude"), {
    frame <- frames_match_lm(lm_call(y ~ x, data = d))
    expect_s3_class(attr(frame, "na.action"), "exclude")
  })
  attr(d, "na.action") <- "na.fail"
  expect_error(torchlinreg:::model_frame(lm_call(y ~ x, data = d), environment()),
               "missing values")
  expect_error(stats::lm(y ~ x, data = d), "missing values")
})

test_that("any other na.action is applied even without NA", {
  d <- data.frame(y = rnorm(10), x = rnorm(10))
  drop_first <- function(object, ...) object[-1, , drop = FALSE]
  frame <- frames_match_lm(lm_call(y ~ x, data = d, na.action = drop_first))
  expect_equal(nrow(frame), 9)
})

test_that("data given as an expression is evaluated once", {
  evaluations <- 0
  make <- function() {
    evaluations <<- evaluations + 1
    data.frame(y = rnorm(10), x = rnorm(10))
  }
  frame <- torchlinreg:::model_frame(lm_call(y ~ x, data = make()), environment())
  expect_equal(evaluations, 1)
  expect_equal(nrow(frame), 10)
})
