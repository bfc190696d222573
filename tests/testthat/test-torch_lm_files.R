# torch_lm_files(): the same data written to CSV and streamed by the core
# must give what lm() gives on it in memory.

write_csv <- function(data, dir = withr::local_tempdir(.local_envir = parent.frame())) {
  path <- file.path(dir, "data.csv")
  utils::write.csv(data, path, row.names = FALSE)
  path
}

# Everything lm() reports that does not need the rows, to relative `rel`.
expect_matches_lm_from_moments <- function(fit, reference, newdata, rel = 1e-8) {
  expect_summary_matches_lm(fit, reference, rel, level = 0.9)
  expect_equal(nobs(fit), nobs(reference))
  expect_close(deviance(fit), deviance(reference), rel)
  for (interval in c("none", "confidence", "prediction")) {
    # (a weighted fit warns about prediction variance, as lm() does; tested below)
    expect_close(suppressWarnings(predict(fit, newdata, interval = interval, level = 0.9)),
                 suppressWarnings(predict(reference, newdata, interval = interval, level = 0.9)),
                 rel)
  }
  expect_close(predict(fit, newdata, se.fit = TRUE)$se.fit,
               suppressWarnings(predict(reference, newdata, se.fit = TRUE))$se.fit, rel)
}

test_that("one response from a CSV file matches lm() and torch_lm() on the same rows", {
  skip_if_no_python()
  path <- write_csv(mtcars)
  fit <- torch_lm_files(mpg ~ wt + hp + qsec, path, seed = 1)
  expect_s3_class(fit, c("torch_lm_files", "torch_lm", "lm"), exact = TRUE)
  expect_true(fit$convergence$converged)
  expect_equal(c(fit$n_train, fit$n_valid), c(32, 0))
  reference <- lm(mpg ~ wt + hp + qsec, data = mtcars)
  expect_matches_lm_from_moments(fit, reference, mtcars[c(1, 15, 30), ])
  expect_equal(formula(fit), formula(reference), ignore_attr = TRUE)
  in_memory <- torch_lm(mpg ~ wt + hp + qsec, data = mtcars, seed = 1)
  expect_close(coef(fit), coef(in_memory), 1e-12)
  expect_output(print(summary(fit)), "Residuals: not kept")
  expect_output(print(fit), "torch_lm_files\\(formula = mpg ~ wt \\+ hp \\+ qsec")
})

test_that("several files, read in order, give the one-file fit", {
  skip_if_no_python()
  dir <- withr::local_tempdir()
  utils::write.csv(mtcars[1:20, ], file.path(dir, "part-1.csv"), row.names = FALSE)
  utils::write.csv(mtcars[21:32, ], file.path(dir, "part-2.csv"), row.names = FALSE)
  whole <- torch_lm_files(mpg ~ wt + hp, write_csv(mtcars), seed = 2)
  parts <- torch_lm_files(mpg ~ wt + hp, file.path(dir, c("part-1.csv", "part-2.csv")), seed = 2,
                          batch_rows = 7)
  folder <- torch_lm_files(mpg ~ wt + hp, dir, seed = 2)
  expect_close(coef(parts), coef(whole), 1e-12)
  expect_identical(coef(folder), coef(parts))
  expect_close(coef(parts), coef(lm(mpg ~ wt + hp, mtcars)), 1e-8)
})

# A data frame written as Parquet by pyarrow (R has no Parquet writer here),
# in row groups of `group_rows` rows.
write_parquet <- function(data, group_rows, dir = withr::local_tempdir(.local_envir = parent.frame())) {
  path <- file.path(dir, "data.parquet")
  pa <- reticulate::import("pyarrow", convert = FALSE)
  pq <- reticulate::import("pyarrow.parquet", convert = FALSE)
  columns <- lapply(data, function(column) pa$array(column, type = pa$float64()))
  pq$write_table(pa$table(reticulate::dict(columns)), path, row_group_size = as.integer(group_rows))
  path
}

test_that("a Parquet file in several row groups gives what lm() and the CSV file give", {
  skip_if_no_python()
  path <- write_parquet(mtcars, group_rows = 10)
  fit <- torch_lm_files(mpg ~ wt + hp + qsec, path, seed = 1, batch_rows = 7)
  expect_identical(basename(fit$paths), "data.parquet")
  reference <- lm(mpg ~ wt + hp + qsec, data = mtcars)
  expect_matches_lm_from_moments(fit, reference, mtcars[c(1, 15, 30), ])
  from_csv <- torch_lm_files(mpg ~ wt + hp + qsec, write_csv(mtcars), seed = 1)
  expect_close(coef(fit), coef(from_csv), 1e-12)
})

test_that("two responses with cbind() match lm(cbind())", {
  skip_if_no_python()
  path <- write_csv(mtcars)
  fit <- torch_lm_files(cbind(mpg, qsec) ~ wt + hp + disp, path, seed = 3)
  reference <- lm(cbind(mpg, qsec) ~ wt + hp + disp, data = mtcars)
  expect_s3_class(fit, c("torch_lm_files", "torch_mlm", "torch_lm", "mlm", "lm"), exact = TRUE)
  expect_identical(dimnames(coef(fit)), dimnames(coef(reference)))
  expect_close(coef(fit), coef(reference), 1e-8)
  expect_identical(dimnames(vcov(fit)), dimnames(vcov(reference)))
  expect_close(vcov(fit), vcov(reference), 1e-8)
  expect_identical(rownames(confint(fit)), rownames(confint(reference)))
  expect_close(confint(fit), confint(reference), 1e-8)
  s <- summary(fit, correlation = TRUE)
  r <- summary(reference, correlation = TRUE)
  for (i in 1:2) {
    expect_close(s[[i]]$coefficients, r[[i]]$coefficients, 1e-8)
    expect_close(s[[i]]$r.squared, r[[i]]$r.squared, 1e-8)
    expect_close(s[[i]]$fstatistic, r[[i]]$fstatistic, 1e-8)
    expect_close(s[[i]]$correlation, r[[i]]$correlation, 1e-8)
  }
  expect_output(print(s), "Residuals: not kept")
  expect_close(predict(fit, mtcars[1:3, ]), predict(reference, mtcars[1:3, ]), 1e-8)
  limits <- predict(fit, mtcars[1:3, ], interval = "prediction")
  expect_named(limits, c("mpg", "qsec"))
  single <- lm(qsec ~ wt + hp + disp, data = mtcars)
  expect_close(limits$qsec, predict(single, mtcars[1:3, ], interval = "prediction"), 1e-8)
})

test_that("'.' takes every other column, and - 1 or 0 + drop the intercept, as in lm()", {
  skip_if_no_python()
  cars4 <- mtcars[c("mpg", "wt", "hp", "qsec")]
  path <- write_csv(cars4)
  dot <- torch_lm_files(mpg ~ ., path, seed = 4)
  expect_matches_lm_from_moments(dot, lm(mpg ~ ., data = cars4), cars4[1:3, ])
  none <- torch_lm_files(mpg ~ . - 1, path, seed = 4)
  expect_false(none$has_intercept)
  expect_matches_lm_from_moments(none, lm(mpg ~ . - 1, data = cars4), cars4[1:3, ])
  zero <- torch_lm_files(mpg ~ 0 + wt + hp, path, seed = 4)
  expect_matches_lm_from_moments(zero, lm(mpg ~ 0 + wt + hp, data = cars4), cars4[1:3, ])
})

test_that("a weights column matches lm(weights = ) and is left out of '.'", {
  skip_if_no_python()
  path <- write_csv(mtcars[c("mpg", "wt", "hp", "cyl")])
  fit <- torch_lm_files(mpg ~ ., path, weights = "cyl", seed = 5)
  reference <- lm(mpg ~ wt + hp, data = mtcars, weights = cyl)
  expect_matches_lm_from_moments(fit, reference, mtcars[1:3, ])
  nd <- mtcars[1:4, ]
  expect_close(predict(fit, nd, interval = "prediction", weights = 2),
               predict(reference, nd, interval = "prediction", weights = 2), 1e-8)
  expect_warning(predict(fit, nd, interval = "prediction"), "constant prediction variance")
  expect_error(weights(fit), class = "torchlinreg_rows_not_kept")
  expect_null(weights(torch_lm_files(mpg ~ wt, path, seed = 5)))
})

test_that("an aliased column gets NA as lm() gives it", {
  skip_if_no_python()
  d <- transform(mtcars, wt2 = 2 * wt)[c("mpg", "wt", "hp", "wt2", "qsec")]
  fit <- torch_lm_files(mpg ~ wt + wt2 + hp + qsec, write_csv(d), seed = 6)
  reference <- lm(mpg ~ wt + wt2 + hp + qsec, data = d)
  expect_identical(is.na(coef(fit)), is.na(coef(reference)))
  expect_equal(fit$rank, reference$rank)
  expect_matches_lm_from_moments(fit, reference, d[1:3, ])
  expect_output(print(summary(fit)), "1 not defined because of singularities")
})

test_that("column names that need backticks name coefficients as lm() names them", {
  skip_if_no_python()
  d <- data.frame(`fuel use` = mtcars$mpg, `weight (t)` = mtcars$wt, hp = mtcars$hp,
                  check.names = FALSE)
  fit <- torch_lm_files(`fuel use` ~ `weight (t)` + hp, write_csv(d), seed = 7)
  reference <- lm(`fuel use` ~ `weight (t)` + hp, data = d)
  expect_matches_lm_from_moments(fit, reference, d[1:2, ])
})

test_that("validation holds rows out: counted, not used for fitting or inference", {
  skip_if_no_python()
  set.seed(8)
  d <- data.frame(x1 = rnorm(400), x2 = runif(400))
  d$y <- 1 + 2 * d$x1 - d$x2 + rnorm(400)
  path <- write_csv(d)
  fit <- torch_lm_files(y ~ x1 + x2, path, validation = 0.25, seed = 8)
  expect_equal(fit$n_train + fit$n_valid, 400)
  expect_true(fit$n_valid > 60 && fit$n_valid < 140)
  expect_equal(nobs(fit), fit$n_train)
  expect_equal(fit$df.residual, fit$n_train - 3)
  # The log-likelihood of the training rows alone (logLik.lm()'s, n = n_train).
  n <- fit$n_train
  expect_close(as.numeric(logLik(fit)), -n / 2 * (log(2 * pi) + 1 - log(n) + log(deviance(fit))),
               1e-12)
  # Without a seed the split's is drawn and written into the call: update() holds out the same rows.
  drawn <- torch_lm_files(y ~ x1 + x2, path, validation = 0.25)
  expect_true(is.numeric(drawn$call$seed))
  expect_identical(coef(update(drawn)), coef(drawn))
  expect_true(all(is.finite(fit$history$val_loss[-1])))
  expect_output(print(summary(fit)), sprintf("%d rows held out for validation", fit$n_valid))
})

test_that("what needs the rows is a classed error; the history is kept", {
  skip_if_no_python()
  fit <- torch_lm_files(mpg ~ wt, write_csv(mtcars), seed = 9)
  for (method in list(residuals, fitted, model.frame, model.matrix, predict, compare_lm)) {
    expect_error(method(fit), class = "torchlinreg_rows_not_kept")
  }
  expect_error(residuals(fit), "torch_lm\\(\\)")
  expect_identical(as.data.frame(fit), fit$history)
  grDevices::pdf(NULL)
  on.exit(grDevices::dev.off())
  expect_no_error(plot(fit))
})

test_that("a file fit saves and loads", {
  skip_if_no_python()
  fit <- torch_lm_files(mpg ~ wt + hp, write_csv(mtcars), seed = 10)
  loaded <- load_fit(save_fit(fit, tempfile(fileext = ".npz")))
  expect_s3_class(loaded, "torch_lm_files")
  expect_identical(coef(loaded), coef(fit))
  expect_identical(summary(loaded)$coefficients, summary(fit)$coefficients)
  expect_identical(predict(loaded, mtcars[1:2, ]), predict(fit, mtcars[1:2, ]))
})

# summary.lm() gives standard errors of columns beyond about 1e±154 as Inf or 0 and such a
# response's sigma as Inf; lm() of the columns divided by powers of two (exact) gives them,
# multiplied back.
expect_summary_matches_lm_in_units <- function(fit, data, columns) {
  unit <- 2^floor(log2(vapply(data[columns], function(v) max(abs(v)), 0)))
  scaled <- data
  scaled[columns] <- Map(`/`, data[columns], unit)
  r <- summary(lm(formula(fit), scaled))
  all_units <- stats::setNames(rep(1, ncol(data)), names(data))
  all_units[columns] <- unit
  y_unit <- all_units[["mpg"]]
  back <- y_unit / c(1, all_units[names(coef(fit))[-1]])
  s <- summary(fit)
  expect_close(s$coefficients[, 1:2] / (r$coefficients[, 1:2] * back), matrix(1, 4, 2), 1e-8)
  expect_close(s$coefficients[, 3:4], r$coefficients[, 3:4], 1e-8)
  expect_close(c(s$sigma / y_unit, s$r.squared, s$fstatistic),
               c(r$sigma, r$r.squared, r$fstatistic), 1e-8)
}

test_that("columns or a response of 1e-300 to 1e300 give lm()'s summary, also after a save and load", {
  skip_if_no_python()
  for (scale in list(c(wt = 1e-300, hp = 1e300), c(mpg = 1e200))) {
    data <- mtcars[c("mpg", "wt", "hp", "qsec")]
    data[names(scale)] <- Map(`*`, data[names(scale)], scale)
    path <- write_csv(data)
    data <- utils::read.csv(path)  # the numbers the file holds
    fit <- torch_lm_files(mpg ~ wt + hp + qsec, path, seed = 1)
    expect_true(fit$convergence$converged)
    expect_close(coef(fit) / coef(lm(mpg ~ wt + hp + qsec, data)), rep(1, 4), 1e-10)
    expect_summary_matches_lm_in_units(fit, data, names(scale))
    loaded <- load_fit(save_fit(fit, tempfile(fileext = ".npz")))
    expect_identical(summary(loaded)$coefficients, summary(fit)$coefficients)
  }
})

test_that("formulas beyond plain columns are errors that say what to do instead", {
  skip_if_no_python()
  path <- write_csv(mtcars)
  for (f in c(mpg ~ factor(cyl), mpg ~ I(wt^2), mpg ~ log(wt), mpg ~ wt:hp, mpg ~ wt * hp,
              mpg ~ poly(wt, 2), mpg ~ wt + offset(hp), log(mpg) ~ wt, mpg ~ . - wt + wt:hp,
              cbind(mpg, log(qsec)) ~ wt, ~ wt)) {
    expect_error(torch_lm_files(f, path), class = "torchlinreg_input_error")
  }
  expect_error(torch_lm_files(mpg ~ factor(cyl), path), class = "torchlinreg_formula_error")
  expect_error(torch_lm_files(mpg ~ log(wt), path),
               "'log\\(wt\\)' is none of these.*into the files.*use torch_lm\\(\\)")
  expect_error(torch_lm_files(mpg ~ wt * hp, path), "'wt:hp' is none of these")
  expect_error(torch_lm_files(mpg ~ wt + offset(hp), path), "'offset\\(hp\\)' is none")
})

test_that("R's terms() reads the formula: '. - column', '. + column' and repeats as in lm()", {
  skip_if_no_python()
  cars5 <- mtcars[c("mpg", "wt", "hp", "qsec", "cyl")]
  path <- write_csv(cars5)
  fit <- torch_lm_files(mpg ~ . - qsec, path, weights = "cyl", seed = 4)
  reference <- lm(mpg ~ . - qsec - cyl, data = cars5, weights = cyl)
  expect_identical(names(coef(fit)), c("(Intercept)", "wt", "hp"))
  expect_matches_lm_from_moments(fit, reference, cars5[1:3, ])
  again <- torch_lm_files(mpg ~ . + wt - cyl, path, seed = 4)
  expect_identical(names(coef(again)), names(coef(lm(mpg ~ . + wt - cyl, data = cars5))))
  expect_identical(names(coef(torch_lm_files(mpg ~ hp + wt + hp - hp + qsec, path, seed = 4))),
                   c("(Intercept)", "wt", "qsec"))
  two <- torch_lm_files(cbind(mpg, qsec) ~ . - 1, path, seed = 4)
  expect_identical(rownames(coef(two)), c("wt", "hp", "cyl"))
})

test_that("unknown columns, missing files and misused arguments are typed errors", {
  skip_if_no_python()
  path <- write_csv(mtcars)
  expect_error(torch_lm_files(mpg ~ wt + nope, path), "nope", class = "torchlinreg_input_error")
  expect_error(torch_lm_files(nope ~ wt, path), "nope", class = "torchlinreg_input_error")
  missing_file <- file.path(dirname(path), "absent.csv")
  expect_error(torch_lm_files(mpg ~ wt, missing_file), "does not exist",
               class = "torchlinreg_input_error")
  expect_error(torch_lm_files(mpg ~ wt, path, weights = mtcars$cyl), "as a string",
               class = "torchlinreg_input_error")
  expect_error(torch_lm_files(mpg ~ wt, path, path), "paths = c\\(",
               class = "torchlinreg_input_error")
  expect_error(torch_lm_files(mpg ~ wt, path, lr = -1), class = "torchlinreg_option_error")
})

test_that("lm()'s functions on file fits: from the moments, or the classed error", {
  skip_if_no_python()
  skip_if_not_installed("broom")
  path <- write_csv(mtcars)
  small <- torch_lm_files(mpg ~ wt, path, seed = 1)
  fit <- torch_lm_files(mpg ~ wt + hp + qsec, path, seed = 1)
  reference_small <- lm(mpg ~ wt, data = mtcars)
  reference <- lm(mpg ~ wt + hp + qsec, data = mtcars)
  # nested models compare deviances, as anova.lmlist() does for lm()
  expect_identical(capture.output(print(anova(small, fit))),
                   capture.output(print(anova(reference_small, reference))))
  expect_close(as.matrix(anova(small, fit)), as.matrix(anova(reference_small, reference)), 1e-8)
  for (f in list(logLik, AIC, BIC, extractAIC, sigma, nobs, variable.names, labels,
                 function(f) variable.names(f, full = TRUE))) {
    expect_equal(f(fit), f(reference), tolerance = 1e-8)
  }
  expect_identical(attributes(logLik(fit)), attributes(logLik(reference)))
  tidied <- broom::tidy(fit, conf.int = TRUE)
  expected <- broom::tidy(reference, conf.int = TRUE)
  expect_identical(tidied$term, expected$term)
  expect_close(as.matrix(tidied[-1]), as.matrix(expected[-1]), 1e-8)
  glanced <- generics::glance(fit)
  expected <- broom::glance(reference)
  expect_close(unlist(glanced[names(expected)]), unlist(expected), 1e-8)
  for (f in list(anova, hatvalues, influence, influence.measures, cooks.distance, rstandard, rstudent, dfbeta,
                 dfbetas, effects, proj, qr, kappa, alias, residuals, fitted, model.frame,
                 model.matrix, case.names, simulate, function(f) plot(f, which = 1),
                 function(f) predict(f, type = "terms"), broom::augment)) {
    expect_error(f(fit), class = "torchlinreg_rows_not_kept")
  }
  # a weighted fit's log-likelihood from the moments, which keep sum(log(w))
  weighted <- torch_lm_files(mpg ~ wt, path, weights = "cyl", seed = 1)
  reference_weighted <- lm(mpg ~ wt, data = mtcars, weights = cyl)
  for (f in list(logLik, AIC, BIC)) {
    expect_equal(f(weighted), f(reference_weighted), tolerance = 1e-8)
  }
  expect_equal(generics::glance(weighted)$AIC, AIC(reference_weighted), tolerance = 1e-8)
  again <- load_fit(save_fit(weighted, tempfile(fileext = ".npz")))
  expect_equal(logLik(again), logLik(reference_weighted), tolerance = 1e-8)
  expect_error(weights(weighted), class = "torchlinreg_rows_not_kept")
})
