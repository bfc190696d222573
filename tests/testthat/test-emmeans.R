# emmeans rebuilds a fit's data from its call; a fit with rows held out for
# validation must give emmeans its training rows, as lm(subset = ) would.

# The numbers of an emmeans table (its factor columns left out).
emm_numbers <- function(emm) {
  d <- as.data.frame(emm)
  as.matrix(d[vapply(d, is.numeric, logical(1))])
}

# The data's rows that `fit` trained on (all but those held out).
training_rows <- function(fit, data) data[!rownames(data) %in% names(fit$valid_rows), ]

test_that("emmeans on a fit with held-out rows is emmeans on lm() of the training rows", {
  skip_if_no_python()
  skip_if_not_installed("emmeans")
  # NA rows dropped by na.exclude, a factor() term (no column of that name in the
  # model frame, so emmeans reads the data): before, emmeans saw every row
  fit <- torch_lm(Ozone ~ Solar.R + Wind + factor(Month), data = airquality, weights = Temp,
                  na.action = na.exclude, validation = 0.25, seed = 1)
  training <- training_rows(fit, airquality)
  reference <- lm(Ozone ~ Solar.R + Wind + factor(Month), data = training, weights = Temp,
                  na.action = na.exclude)
  for (specs in c("Solar.R", "Month")) {
    expect_close(emm_numbers(emmeans::emmeans(fit, specs)),
                 emm_numbers(emmeans::emmeans(reference, specs)), 1e-8)
  }
  # no NA rows: the reference grid's covariate mean is the training rows'
  d <- mtcars
  cars_fit <- torch_lm(mpg ~ wt + factor(cyl), data = d, validation = 0.25, seed = 2)
  grid <- emmeans::ref_grid(cars_fit)@grid
  training <- training_rows(cars_fit, d)
  expect_equal(unique(grid$wt), mean(training$wt), tolerance = 1e-14)
  expect_false(isTRUE(all.equal(mean(training$wt), mean(d$wt))))
  expect_close(emm_numbers(emmeans::emmeans(cars_fit, "cyl")),
               emm_numbers(emmeans::emmeans(lm(mpg ~ wt + factor(cyl), data = training),
                                            "cyl")), 1e-8)
})

test_that("emmeans takes data given to it, and fits without held-out rows as lm()'s", {
  skip_if_no_python()
  skip_if_not_installed("emmeans")
  fit <- torch_lm(mpg ~ wt + factor(cyl), data = mtcars, seed = 1)
  reference <- lm(mpg ~ wt + factor(cyl), data = mtcars)
  expect_close(emm_numbers(emmeans::emmeans(fit, "cyl")),
               emm_numbers(emmeans::emmeans(reference, "cyl")), 1e-8)
  held <- torch_lm(mpg ~ wt + factor(cyl), data = mtcars, validation = 0.25, seed = 2)
  given <- emmeans::ref_grid(held, data = mtcars)@grid
  expect_equal(unique(given$wt), mean(mtcars$wt), tolerance = 1e-14)
})
