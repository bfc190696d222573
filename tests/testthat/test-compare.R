COMPARE_COLUMNS <- c("response", "term", "estimate", "lm", "exact", "rel_diff_lm",
                     "rel_diff_exact", "diff_in_se", "std_error", "lm_std_error", "se_rel_diff")

test_that("compare_lm() puts torch, lm() and the exact solution side by side", {
  skip_if_no_python()
  fit <- torch_lm(mpg ~ wt * hp + factor(cyl), data = mtcars, seed = 1)
  table <- compare_lm(fit)
  reference <- lm(mpg ~ wt * hp + factor(cyl), mtcars)
  # The columns of Python's compare_lm(), built by the same code.
  expect_identical(names(table), COMPARE_COLUMNS)
  expect_identical(table$response, rep("mpg", length(coef(reference))))
  expect_identical(table$term, names(coef(reference)))
  expect_identical(table$estimate, unname(coef(fit)))
  expect_identical(table$std_error, unname(fit$inference$std_error[, 1]))
  expect_equal(table$lm, unname(coef(reference)), tolerance = 1e-14)
  expect_equal(table$lm_std_error, unname(coef(summary(reference))[, "Std. Error"]),
               tolerance = 1e-14)
  # the exact least-squares solution on the same rows: lm()'s, to rounding
  expect_equal(table$exact, unname(coef(reference)), tolerance = 1e-10)
  expect_equal(table$rel_diff_lm, abs(table$estimate - table$lm) / abs(table$lm))
  expect_equal(table$rel_diff_exact, abs(table$estimate - table$exact) / abs(table$exact))
  expect_equal(table$diff_in_se, abs(table$estimate - table$lm) / table$lm_std_error)
  expect_equal(table$se_rel_diff, abs(table$std_error - table$lm_std_error) / table$lm_std_error)
  expect_true(max(table$rel_diff_lm) < 1e-8)
  expect_true(max(table$se_rel_diff) < 1e-8)
  expect_s3_class(attr(table, "lm"), "lm")
})

test_that("compare_lm() uses the training rows, with or without a data argument", {
  skip_if_no_python()
  fit <- torch_lm(Ozone ~ Wind + Temp, data = airquality, subset = Month > 5,
                  validation = 0.2, seed = 2)
  table <- compare_lm(fit)
  expect_equal(nobs(attr(table, "lm")), length(fit$train_rows))
  expect_true(max(table$rel_diff_lm) < 1e-8)
  expect_true(max(table$rel_diff_exact) < 1e-8)
  y <- cars$dist
  x <- cars$speed
  loose <- torch_lm(y ~ x, validation = 0.3, seed = 3)
  expect_true(max(compare_lm(loose)$rel_diff_lm) < 1e-8)
})

test_that("compare_lm()'s exact solution takes weights and the offset as lm() does", {
  skip_if_no_python()
  fit <- torch_lm(mpg ~ wt + hp, data = mtcars, weights = cyl, offset = 0.1 * disp, seed = 1)
  table <- compare_lm(fit)
  reference <- lm(mpg ~ wt + hp, data = mtcars, weights = cyl, offset = 0.1 * disp)
  expect_equal(table$exact, unname(coef(reference)), tolerance = 1e-10)
  expect_true(max(table$rel_diff_lm) < 1e-8 && max(table$se_rel_diff) < 1e-8)
})

test_that("compare_lm() handles several responses and aliased terms", {
  skip_if_no_python()
  two <- compare_lm(torch_lm(cbind(apples, oranges) ~ ., data = fruit, seed = 1))
  expect_identical(names(two), COMPARE_COLUMNS)
  expect_identical(unique(two$response), c("apples", "oranges"))
  expect_true(max(two$rel_diff_lm) < 1e-8)
  d <- transform(cars, s2 = 2 * speed)
  aliased <- compare_lm(torch_lm(dist ~ speed + s2, data = d, seed = 1))
  expect_identical(aliased$term, c("(Intercept)", "speed", "s2"))
  expect_true(all(is.na(unlist(aliased[3, c("estimate", "lm", "exact", "std_error")]))))
  expect_false(anyNA(aliased[1:2, c("estimate", "lm", "exact", "rel_diff_lm")]))
})
