test_that("compare_lm() puts torch and lm() side by side", {
  skip_if_no_python()
  fit <- torch_lm(mpg ~ wt * hp + factor(cyl), data = mtcars, seed = 1)
  table <- compare_lm(fit)
  expect_identical(names(table), c("term", "torch", "lm", "abs_diff", "rel_diff",
                                   "torch_se", "lm_se", "se_abs_diff", "se_rel_diff"))
  expect_identical(table$term, names(coef(lm(mpg ~ wt * hp + factor(cyl), mtcars))))
  expect_true(max(table$rel_diff) < 1e-8)
  expect_true(max(table$se_rel_diff) < 1e-8)
  expect_s3_class(attr(table, "lm"), "lm")
})

test_that("compare_lm() uses the training rows, with or without a data argument", {
  skip_if_no_python()
  fit <- torch_lm(Ozone ~ Wind + Temp, data = airquality, subset = Month > 5,
                  validation = 0.2, seed = 2)
  table <- compare_lm(fit)
  expect_equal(nobs(attr(table, "lm")), length(fit$train_rows))
  expect_true(max(table$rel_diff) < 1e-8)
  y <- cars$dist
  x <- cars$speed
  loose <- torch_lm(y ~ x, validation = 0.3, seed = 3)
  expect_true(max(compare_lm(loose)$rel_diff) < 1e-8)
})

test_that("compare_lm() handles several responses and aliased terms", {
  skip_if_no_python()
  two <- compare_lm(torch_lm(cbind(apples, oranges) ~ ., data = fruit, seed = 1))
  expect_identical(unique(two$response), c("apples", "oranges"))
  expect_true(max(two$rel_diff) < 1e-8)
  d <- transform(cars, s2 = 2 * speed)
  aliased <- compare_lm(torch_lm(dist ~ speed + s2, data = d, seed = 1))
  expect_true(is.na(aliased$torch[3]) && is.na(aliased$lm[3]))
})
