# tidy(), glance() and augment() (R/tidiers.R) against broom's on lm() fits.

fits_of <- function(formula, data) {
  list(torch = torch_lm(formula, data = data, seed = 1), lm = lm(formula, data = data))
}

expect_table_like <- function(actual, expected, rel = 1e-8) {
  expect_s3_class(actual, "tbl_df")
  expect_identical(names(actual)[seq_along(expected)], names(expected))
  for (column in names(expected)) {
    if (is.numeric(expected[[column]])) {
      expect_close(actual[[column]], expected[[column]], rel)
    } else {
      expect_identical(actual[[column]], expected[[column]])
    }
  }
}

test_that("tidy() is broom's tidy() of lm(), with NA rows for aliased terms", {
  skip_if_no_python()
  skip_if_not_installed("broom")
  data <- transform(mtcars, x3 = wt + hp)
  for (formula in list(mpg ~ wt + hp, mpg ~ wt + hp + x3, mpg ~ factor(cyl) * wt)) {
    fits <- fits_of(formula, data)
    for (conf.int in c(FALSE, TRUE)) {
      expect_table_like(generics::tidy(fits$torch, conf.int = conf.int, conf.level = 0.9),
                        broom::tidy(fits$lm, conf.int = conf.int, conf.level = 0.9))
    }
  }
  fits <- fits_of(cbind(mpg, qsec) ~ wt + hp, mtcars)
  expect_table_like(generics::tidy(fits$torch, conf.int = TRUE),
                    suppressWarnings(broom::tidy(fits$lm, conf.int = TRUE)))
})

test_that("glance() has broom's lm columns and the optimization's", {
  skip_if_no_python()
  skip_if_not_installed("broom")
  for (fits in list(fits_of(mpg ~ wt + hp, mtcars), fits_of(mpg ~ 1, mtcars),
                    list(torch = torch_lm(mpg ~ wt + hp, mtcars, weights = carb, seed = 1),
                         lm = lm(mpg ~ wt + hp, mtcars, weights = carb)))) {
    g <- generics::glance(fits$torch)
    reference <- broom::glance(fits$lm)
    expect_table_like(g, reference)
    for (column in names(reference)) expect_identical(names(g[[column]]), names(reference[[column]]))
    expect_identical(g$optimizer, "adam")
    expect_identical(g$steps, fits$torch$convergence$n_steps)
    expect_true(g$converged)
    expect_identical(g$stop_reason, "converged")
  }
  expect_error(generics::glance(torch_lm(cbind(mpg, qsec) ~ wt, data = mtcars, seed = 1)),
               "one per response", class = "torchlinreg_input_error")
})

test_that("augment() is broom's augment() of lm(), without broom's subclass notice", {
  skip_if_no_python()
  skip_if_not_installed("broom")
  fits <- fits_of(mpg ~ wt + factor(am), mtcars)
  expect_silent(augmented <- generics::augment(fits$torch))
  expect_table_like(augmented, suppressWarnings(broom::augment(fits$lm)))
  newdata <- mtcars[1:5, ]
  expect_table_like(generics::augment(fits$torch, newdata = newdata, se_fit = TRUE),
                    broom::augment(fits$lm, newdata = newdata, se_fit = TRUE))
})
