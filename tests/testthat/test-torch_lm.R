test_that("cars: a straight line matches lm()", {
  skip_if_no_python()
  fit <- torch_lm(dist ~ speed, data = cars, seed = 1)
  expect_s3_class(fit, "torch_lm")
  expect_true(fit$convergence$converged)
  expect_matches_lm(fit, lm(dist ~ speed, data = cars), data.frame(speed = c(4, 15, 30)))
})

test_that("mtcars: factor(cyl) and an interaction match lm()", {
  skip_if_no_python()
  fit <- torch_lm(mpg ~ factor(cyl) + wt * hp, data = mtcars, seed = 2)
  expect_matches_lm(fit, lm(mpg ~ factor(cyl) + wt * hp, data = mtcars), mtcars[c(1, 5, 30), ])
})

test_that("iris: a factor predictor matches lm()", {
  skip_if_no_python()
  fit <- torch_lm(Sepal.Length ~ Petal.Length + Species, data = iris, seed = 3)
  expect_matches_lm(fit, lm(Sepal.Length ~ Petal.Length + Species, data = iris),
                    iris[c(1, 51, 101), ])
})

test_that("airquality: rows with missing values are dropped as lm() drops them", {
  skip_if_no_python()
  fit <- torch_lm(Ozone ~ Solar.R + Wind + Temp, data = airquality, seed = 4)
  reference <- lm(Ozone ~ Solar.R + Wind + Temp, data = airquality)
  expect_equal(nobs(fit), nobs(reference))
  expect_equal(fit$na.action, reference$na.action)
  expect_matches_lm(fit, reference, airquality[c(1, 2, 10), ])
  excluded <- torch_lm(Ozone ~ Solar.R + Wind, data = airquality, na.action = na.exclude, seed = 4)
  expect_length(residuals(excluded), nrow(airquality))
  expect_equal(which(is.na(residuals(excluded))),
               which(is.na(residuals(lm(Ozone ~ Solar.R + Wind, airquality, na.action = na.exclude)))))
})

test_that("ToothGrowth: poly(), I() and subset match lm()", {
  skip_if_no_python()
  fit <- torch_lm(len ~ supp * poly(dose, 2), data = ToothGrowth, seed = 5)
  expect_matches_lm(fit, lm(len ~ supp * poly(dose, 2), data = ToothGrowth),
                    data.frame(supp = c("OJ", "VC"), dose = c(0.75, 1.5)))
  sub <- torch_lm(len ~ dose + I(dose^2), data = ToothGrowth, subset = supp == "VC", seed = 5)
  expect_matches_lm(sub, lm(len ~ dose + I(dose^2), data = ToothGrowth, subset = supp == "VC"))
})

test_that("a model without intercept matches lm()", {
  skip_if_no_python()
  fit <- torch_lm(dist ~ speed - 1, data = cars, seed = 6)
  expect_false(fit$has_intercept)
  expect_matches_lm(fit, lm(dist ~ speed - 1, data = cars), data.frame(speed = c(5, 25)))
  fit0 <- torch_lm(mpg ~ 0 + factor(gear) + wt, data = mtcars, seed = 6)
  expect_matches_lm(fit0, lm(mpg ~ 0 + factor(gear) + wt, data = mtcars), mtcars[1:3, ])
})

test_that("weights and an offset match lm()", {
  skip_if_no_python()
  fit <- torch_lm(mpg ~ wt + hp, data = mtcars, weights = cyl, seed = 7)
  reference <- lm(mpg ~ wt + hp, data = mtcars, weights = cyl)
  expect_matches_lm(fit, reference)
  nd <- mtcars[1:4, ]
  expect_close(predict(fit, nd, interval = "prediction", weights = 2),
               predict(reference, nd, interval = "prediction", weights = 2))
  off <- torch_lm(mpg ~ wt + offset(0.1 * hp), data = mtcars, seed = 7)
  expect_matches_lm(off, lm(mpg ~ wt + offset(0.1 * hp), data = mtcars), mtcars[1:3, ])
  off2 <- torch_lm(mpg ~ wt, offset = log(hp), data = mtcars, seed = 7)
  expect_matches_lm(off2, lm(mpg ~ wt, offset = log(hp), data = mtcars), mtcars[1:3, ])
})

test_that("a rank-deficient design gets NA as lm() gives it", {
  skip_if_no_python()
  d <- transform(mtcars, wt2 = 2 * wt, both = wt + hp)
  fit <- torch_lm(mpg ~ wt + hp + wt2 + both + qsec, data = d, seed = 8)
  reference <- lm(mpg ~ wt + hp + wt2 + both + qsec, data = d)
  expect_identical(is.na(coef(fit)), is.na(coef(reference)))
  expect_equal(fit$rank, reference$rank)
  expect_matches_lm(fit, reference, d[1:3, ])
  expect_output(print(summary(fit)), "2 not defined because of singularities")
})

test_that("two responses (fruit data) match lm(cbind())", {
  skip_if_no_python()
  fit <- torch_lm(cbind(apples, oranges) ~ temperature + rainfall + humidity, data = fruit, seed = 9)
  reference <- lm(cbind(apples, oranges) ~ temperature + rainfall + humidity, data = fruit)
  expect_s3_class(fit, "torch_mlm")
  expect_identical(dimnames(coef(fit)), dimnames(coef(reference)))
  expect_close(coef(fit), coef(reference))
  expect_close(fitted(fit), fitted(reference))
  expect_close(vcov(fit), vcov(reference))
  expect_identical(dimnames(vcov(fit)), dimnames(vcov(reference)))
  expect_close(confint(fit), confint(reference))
  expect_identical(rownames(confint(fit)), rownames(confint(reference)))
  s <- summary(fit)
  r <- summary(reference)
  for (i in 1:2) {
    expect_close(s[[i]]$coefficients, r[[i]]$coefficients)
    expect_close(s[[i]]$r.squared, r[[i]]$r.squared)
    expect_close(s[[i]]$fstatistic, r[[i]]$fstatistic)
  }
  expect_close(predict(fit, fruit[1:3, ]), predict(reference, fruit[1:3, ]))
  limits <- predict(fit, fruit[1:3, ], interval = "confidence")
  expect_named(limits, c("apples", "oranges"))
  single <- lm(apples ~ temperature + rainfall + humidity, data = fruit)
  expect_close(limits$apples, predict(single, fruit[1:3, ], interval = "confidence"))
})

test_that("torch_lm_fit() is the matrix interface", {
  skip_if_no_python()
  x <- model.matrix(~ speed, cars)
  fit <- torch_lm_fit(x, cars$dist, seed = 1)
  expect_close(coef(fit), coef(lm.fit(x, cars$dist)))
  expect_identical(names(coef(fit)), c("(Intercept)", "speed"))
  expect_identical(coef(fit), coef(torch_lm(dist ~ speed, data = cars, seed = 1)))
  nox <- torch_lm_fit(cars$speed, cars$dist, seed = 1, intercept = FALSE)
  expect_close(coef(nox), coef(lm(dist ~ speed - 1, cars)))
  expect_close(predict(fit, cbind(speed = c(5, 10)), interval = "confidence"),
               predict(lm(dist ~ speed, cars), data.frame(speed = c(5, 10)), interval = "confidence"))
})

test_that("torch_lm_fit() takes an integer matrix as lm.fit() does", {
  skip_if_no_python()
  x <- cbind("(Intercept)" = 1L, speed = as.integer(cars$speed))
  expect_type(x, "integer")
  fit <- torch_lm_fit(x, cars$dist, seed = 1)
  expect_close(coef(fit), coef(lm.fit(x * 1, cars$dist)))
})

test_that("validation holds rows out and lm() is compared on the training rows", {
  skip_if_no_python()
  fit <- torch_lm(mpg ~ wt + hp, data = mtcars, validation = 0.25, seed = 10)
  expect_length(fit$valid_rows, 8)
  expect_length(fit$train_rows, 24)
  expect_true(all(is.finite(fit$history$val_loss[-1])))
  reference <- lm(mpg ~ wt + hp, data = mtcars[fit$train_rows, ])
  expect_close(coef(fit), coef(reference))
  expect_equal(nobs(fit), 24)
  expect_close(summary(fit)$coefficients, summary(reference)$coefficients)
})

test_that("without a seed, set.seed() repeats the fit and settings$seed gives it back", {
  skip_if_no_python()
  set.seed(42)
  a <- torch_lm(dist ~ speed, data = cars, batch_size = 10, epochs = 3, init = "uniform")
  set.seed(42)
  b <- torch_lm(dist ~ speed, data = cars, batch_size = 10, epochs = 3, init = "uniform")
  expect_identical(coef(a), coef(b))
  seed <- a$settings$seed
  expect_true(is.numeric(seed) && seed >= 0 && seed <= .Machine$integer.max)
  again <- torch_lm(dist ~ speed, data = cars, batch_size = 10, epochs = 3, init = "uniform",
                    seed = seed)
  expect_identical(coef(again), coef(a))
  expect_null(a$call$seed)  # written into the call only for a split (update() repeats it)
})

test_that("settings reach Python and are recorded", {
  skip_if_no_python()
  fit <- quiet(torch_lm(dist ~ speed, data = cars, optimizer = "sgd", lr = 0.05, epochs = 50,
                        momentum = 0.5, seed = 11, tol = 0))
  expect_equal(fit$settings$optimizer, "sgd")
  expect_equal(fit$settings$lr, 0.05)
  expect_equal(fit$settings$optimizer_options$momentum, 0.5)
  expect_equal(fit$convergence$n_steps, 50)
  expect_equal(nrow(fit$history), 51)
  mini <- torch_lm(dist ~ speed, data = cars, batch_size = 10, epochs = 3, seed = 11)
  expect_equal(mini$settings$batch_size, 10)
  expect_equal(mini$convergence$n_steps, 15)
  f32 <- torch_lm(dist ~ speed, data = cars, dtype = "float32", seed = 11)
  expect_equal(f32$settings$dtype, "float32")
  expect_close(coef(f32), coef(lm(dist ~ speed, cars)), rel = 1e-4)
})

test_that("the same seed gives the same fit from R and from Python", {
  skip_if_no_python()
  fit <- torch_lm(mpg ~ wt + hp + qsec, data = mtcars, seed = 12, validation = 0.2)
  tl <- reticulate::import("torchlinreg")
  x <- model.matrix(mpg ~ wt + hp + qsec, data = mtcars)[, -1]  # every row: Python splits them
  py <- tl$fit(x, mtcars$mpg, seed = 12L, validation = 0.2)
  expect_identical(unname(coef(fit)), c(py$intercept, as.vector(py$coef)))
  again <- torch_lm(mpg ~ wt + hp + qsec, data = mtcars, seed = 12, validation = 0.2)
  expect_identical(coef(again), coef(fit))
  expect_identical(again$history, fit$history)
})

test_that("default fits reach lm() on ill-conditioned designs (precondition = 'qr')", {
  skip_if_no_python()
  cases <- list(list(Employed ~ ., longley),
                list(Sepal.Length ~ Species * Petal.Length, iris),
                list(dist ~ poly(speed, 3, raw = TRUE), cars))
  for (case in cases) {
    fit <- torch_lm(case[[1]], data = case[[2]], seed = 1)
    ref <- lm(case[[1]], data = case[[2]])
    expect_true(fit$convergence$converged)
    expect_identical(fit$settings$precondition, "qr")
    expect_lt(max(abs(coef(fit) - coef(ref))) / max(abs(coef(ref))), 1e-10)
  }
  weighted <- torch_lm(Employed ~ ., data = longley, weights = Population, seed = 1)
  ref <- lm(Employed ~ ., data = longley, weights = Population)
  expect_lt(max(abs(coef(weighted) - coef(ref))) / max(abs(coef(ref))), 1e-10)
})

test_that("precondition = 'standardize' is the tutorials' path, and its warning says what works", {
  skip_if_no_python()
  expect_warning(
    fit <- torch_lm(Employed ~ ., data = longley, seed = 1, precondition = "standardize",
                    epochs = 500),
    class = "torchlinreg_convergence_warning", regexp = "precondition='qr'")
  expect_identical(fit$settings$precondition, "standardize")
  expect_false(fit$convergence$converged)
  caught <- tryCatch(torch_lm(mpg ~ wt, data = mtcars, epochs = 20, seed = 1),
                     torchlinreg_convergence_warning = function(w) conditionMessage(w))
  expect_match(caught, "raise epochs to about")
  expect_error(torch_lm(mpg ~ wt, data = mtcars, precondition = "cholesky"),
               class = "torchlinreg_option_error")
})

test_that("stop_iter stops on the validation loss, as brulee's does", {
  skip_if_no_python()
  fit <- torch_lm(mpg ~ wt + hp, data = mtcars, seed = 1, validation = 0.25, stop_iter = 5)
  expect_identical(fit$convergence$stop_reason, "early_stopping")
  expect_error(torch_lm(mpg ~ wt, data = mtcars, stop_iter = 5),
               class = "torchlinreg_option_error")
})

test_that("misread options and responses are classed errors that say what to change (issue 17, item 8)", {
  skip_if_no_python()
  expect_error(torch_lm(Species ~ Sepal.Length, data = iris), class = "torchlinreg_input_error",
               regexp = "Species is a factor, not numeric")
  expect_error(torch_lm(mpg ~ wt, data = mtcars, standardize = "FALSE"),
               class = "torchlinreg_option_error", regexp = "standardize must be True or False")
  expect_error(torch_lm(mpg ~ wt, data = mtcars, dtype = "float16"),
               class = "torchlinreg_option_error", regexp = "dtype must be one of")
})
