test_that("every fit goes through the validating constructor", {
  skip_if_no_python()
  fit <- torch_lm(mpg ~ wt, data = mtcars, seed = 1)
  expect_identical(torchlinreg:::validate_torch_lm(fit), fit)
  broken <- fit
  broken$coefficients <- NULL
  expect_error(torchlinreg:::validate_torch_lm(broken), "no coefficients", class = "torchlinreg_invalid_fit")
  broken <- fit
  names(broken$aliased) <- c("a", "b")
  expect_error(torchlinreg:::validate_torch_lm(broken), "aliased", class = "torchlinreg_input_error")
  broken <- fit
  class(broken) <- c("torch_mlm", class(fit))
  expect_error(torchlinreg:::validate_torch_lm(broken), "responses", class = "torchlinreg_error")
})

# --- a torch_lm is an lm (issue 15) -------------------------------------------------------------
# Every function written for lm() fits runs on torch_lm and lm fits of the
# same data and gives the same answer to 1e-8 relative (print text for
# print()/anova(), numbers otherwise). With the default settings these fits
# converge to 1e-11 relative of lm()'s coefficients (the factor design takes
# ~8,800 Adam steps; the others ~500), so 1e-8 leaves room for the
# derived quantities (influence, F tests) without loosening anything.

aliased_cars <- transform(mtcars, x3 = wt + hp)
CASES <- list(
  plain = list(call = quote(f(mpg ~ wt + hp + qsec, data = mtcars)), add = ~ . + disp,
               drop = . ~ . - qsec),
  weighted = list(call = quote(f(mpg ~ wt + hp + qsec, data = mtcars, weights = carb)),
                  add = ~ . + disp, drop = . ~ . - qsec - hp),
  factors = list(call = quote(f(mpg ~ wt * factor(am) + factor(cyl), data = mtcars)),
                 add = ~ . + disp, drop = . ~ . - factor(cyl)),
  na.exclude = list(call = quote(f(Ozone ~ Solar.R + Wind + Temp, data = airquality,
                                   na.action = na.exclude)), add = ~ . + Month, drop = . ~ . - Wind),
  aliased = list(call = quote(f(mpg ~ wt + hp + x3, data = aliased_cars)), add = ~ . + disp),
  two = list(call = quote(f(cbind(mpg, qsec) ~ wt + hp, data = mtcars))),
  # Rows held out for validation: the fit is lm()'s on the training rows
  # (lm(subset = the data's rows less those held out), made by case()).
  validation = list(call = quote(f(Ozone ~ Solar.R + Wind + factor(Month), data = airquality,
                                   weights = Temp, na.action = na.exclude)),
                    validation = 0.25, add = ~ . + Day, drop = . ~ . - Wind),
  two.validation = list(call = quote(f(cbind(mpg, qsec) ~ wt + hp, data = mtcars)),
                        validation = 0.25)
)
fitted_cases <- new.env()
# The torch_lm() and lm() fits of a case, made once.
case <- function(name) {
  if (is.null(fitted_cases[[name]])) {
    torch_call <- lm_call <- CASES[[name]]$call
    torch_call[[1]] <- quote(torch_lm)
    torch_call$seed <- 1
    lm_call[[1]] <- quote(lm)
    torch_call$validation <- CASES[[name]]$validation
    torch <- eval(torch_call)
    if (!is.null(CASES[[name]]$validation)) {
      held_out <- names(torch$valid_rows)  # the data's row names
      lm_call$subset <- bquote(!rownames(.(lm_call$data)) %in% .(held_out))
    }
    fitted_cases[[name]] <- list(torch = torch, lm = eval(lm_call))
  }
  fitted_cases[[name]]
}

# The same structure (names, dims, classes of the parts) and the same
# numbers to `rel`; calls and formulas may differ (torch_lm() against lm()).
expect_like_lm <- function(actual, expected, rel = 1e-8) {
  if (is.language(expected) || is.function(expected) || is.environment(expected)) return()
  if (is.list(expected)) {
    expect_identical(names(actual), names(expected))
    expect_identical(class(actual), class(expected))
    for (i in seq_along(expected)) expect_like_lm(actual[[i]], expected[[i]], rel)
  } else if (is.numeric(expected) || is.complex(expected)) {
    expect_identical(dimnames(actual), dimnames(expected))
    expect_identical(names(actual), names(expected))
    expect_close(actual, expected, rel)
  } else {
    expect_identical(actual, expected)
  }
}

expect_same_text <- function(actual, expected) {
  expect_identical(capture.output(print(actual)), capture.output(print(expected)))
}

# print() output without what names the function (the call) or the
# optimization (the "Fitted by ..." line, the rows held out for
# validation), which lm()'s output has not.
printed_without_fit <- function(x) {
  lines <- capture.output(print(x))
  call <- which(lines == "Call:")
  drop <- unlist(lapply(call, function(i) seq(i + 1, i + match("", lines[-seq_len(i)]) - 1)))
  fitted_by <- which(startsWith(lines, "Fitted by "))
  drop <- c(drop, fitted_by, fitted_by + 1)  # and the blank line after it
  drop <- c(drop, grep("rows held out for validation)$", lines))
  if (length(drop)) lines[-drop] else lines
}

# How many pages `expr` draws.
pages <- function(expr) {
  dir <- withr::local_tempdir()
  grDevices::png(file.path(dir, "page%03d.png"))
  force(expr)
  grDevices::dev.off()
  length(list.files(dir))
}

# Where lm() refuses (several responses, aliased coefficients, na.exclude
# for fortify(), no columns for effects()), torch_lm() must refuse with the
# same message; TRUE then.
lm_refuses <- function(fun, torch, reference) {
  refusal <- tryCatch({
    suppressWarnings(fun(reference))
    NULL
  }, error = conditionMessage)
  if (is.null(refusal)) return(FALSE)
  expect_error(suppressWarnings(fun(torch)), refusal, fixed = TRUE)
  TRUE
}

ONE_RESPONSE <- c("plain", "weighted", "factors", "na.exclude", "aliased", "validation")

# Functions of one fit, compared number for number (and text where printed).
LM_FUNCTIONS <- list(
  anova = anova, AIC = AIC, BIC = BIC, logLik = logLik, extractAIC = extractAIC,
  drop1 = drop1, hatvalues = hatvalues, cooks.distance = cooks.distance, rstandard = rstandard,
  rstudent = rstudent, dfbeta = dfbeta, dfbetas = dfbetas, influence = influence,
  influence.measures = function(f) influence.measures(f)[c("infmat", "is.inf")],
  effects = function(f) unclass(effects(f)), alias = alias, dummy.coef = dummy.coef,
  simulate = function(f) simulate(f, nsim = 2, seed = 1), proj = proj,
  qr = function(f) unclass(qr(f))[c("qr", "qraux", "pivot", "rank")], kappa = kappa,
  labels = labels, case.names = case.names, variable.names = variable.names,
  variable.names.full = function(f) variable.names(f, full = TRUE),
  sigma = sigma, deviance = deviance, nobs = nobs, df.residual = df.residual,
  coef = coef, vcov = vcov, confint = confint, fitted = fitted, weights = weights,
  model.matrix = model.matrix,
  residuals.working = function(f) residuals(f, type = "working"),
  residuals.response = function(f) residuals(f, type = "response"),
  residuals.deviance = function(f) residuals(f, type = "deviance"),
  residuals.pearson = function(f) residuals(f, type = "pearson"),
  residuals.partial = function(f) residuals(f, type = "partial"),
  predict = function(f) predict(f), predict.se = function(f) predict(f, se.fit = TRUE)[1:2],
  predict.terms = function(f) predict(f, type = "terms", se.fit = TRUE)[1:2],
  termplot = function(f) termplot(f, plot = FALSE),
  car.Anova = function(f) car::Anova(f), car.Anova.III = function(f) car::Anova(f, type = 3),
  linearHypothesis = function(f) car::linearHypothesis(f, paste(variable.names(f)[2], "= 0")),
  tidy = function(f) broom::tidy(f, conf.int = TRUE), augment = function(f) broom::augment(f),
  vcovHC = function(f) sandwich::vcovHC(f), sandwich = function(f) sandwich::sandwich(f),
  estfun = function(f) sandwich::estfun(f), bread = function(f) sandwich::bread(f),
  coeftest = function(f) unclass(lmtest::coeftest(f, vcov. = sandwich::vcovHC)),
  fortify = function(f) ggplot2::fortify(f),
  # emmeans rebuilds its reference grid from the fit (model frame, terms, xlevels)
  emmeans = function(f) {
    as.data.frame(emmeans::emmeans(f, specs = attr(stats::terms(f), "term.labels")[1]))
  }
)
PRINTED <- c("anova", "drop1", "car.Anova", "linearHypothesis", "alias", "coeftest")

skip_without_lm_packages <- function() {
  for (p in c("broom", "sandwich", "lmtest", "car", "ggplot2", "emmeans")) skip_if_not_installed(p)
}

for (name in names(CASES)) {
  test_that(sprintf("a torch_lm fit carries lm()'s components and class (%s)", name), {
    skip_if_no_python()
    fits <- case(name)
    expect_s3_class(fits$torch, if (inherits(fits$lm, "mlm")) c("torch_mlm", "torch_lm", "mlm", "lm")
                    else c("torch_lm", "lm"), exact = TRUE)
    expect_setequal(setdiff(names(fits$lm), "method"),
                    intersect(names(fits$torch), names(fits$lm)))
  })
  test_that(sprintf("print() and summary() print lm()'s text, and how the fit ended (%s)", name), {
    skip_if_no_python()
    fits <- case(name)
    expect_identical(printed_without_fit(fits$torch), printed_without_fit(fits$lm))
    expect_identical(printed_without_fit(summary(fits$torch)), printed_without_fit(summary(fits$lm)))
    expect_output(print(fits$torch), "Fitted by adam")
  })
  for (f in names(LM_FUNCTIONS)) {
    test_that(sprintf("%s() on a torch_lm fit is lm()'s (%s)", f, name), {
      skip_if_no_python()
      skip_without_lm_packages()
      fits <- case(name)
      fun <- LM_FUNCTIONS[[f]]
      # predict.mlm() ignores se.fit without newdata; torch_lm() gives them too.
      if (f == "predict.se" && inherits(fits$lm, "mlm")) {
        return(expect_like_lm(predict(fits$torch, se.fit = TRUE)$fit, predict(fits$lm)))
      }
      if (f == "emmeans" && !is.null(CASES[[name]]$validation)) {
        # emmeans cannot recover the data of lm(subset = <a test of row names>) ("Data
        # appear to be randomized"): its reference is lm() on the training rows' frame.
        data <- eval(CASES[[name]]$call$data)
        training <- data[!rownames(data) %in% names(fits$torch$valid_rows), ]
        fits$lm <- eval(bquote(stats::update(fits$lm, data = .(training), subset = NULL)))
      }
      if (lm_refuses(fun, fits$torch, fits$lm)) return()
      expected <- suppressWarnings(fun(fits$lm))
      actual <- suppressWarnings(fun(fits$torch))
      if (f == "drop1" && name == "aliased") {
        # Dropping a column of an aliased set leaves the column space: the sums of
        # squares are zero up to rounding, which differs; compare them to the RSS.
        expect_lt(max(abs(actual[[2]] - expected[[2]]), na.rm = TRUE), 1e-8 * expected$RSS[1])
        actual <- actual[-2]
        expected <- expected[-2]
      } else if (f %in% PRINTED) {
        expect_same_text(actual, expected)
      }
      expect_like_lm(actual, expected)
    })
  }
}

test_that("nested models, add1() and step() compare as lm()'s", {
  skip_if_no_python()
  for (name in c("plain", "weighted", "factors", "na.exclude")) {
    fits <- case(name)
    small_call <- CASES[[name]]$call
    small_call[[1]] <- quote(torch_lm)
    small_call$seed <- 1
    small_call[[2]] <- stats::update(stats::formula(fits$lm), CASES[[name]]$drop)
    small <- eval(small_call)
    reference <- stats::update(fits$lm, stats::formula(small))
    expect_same_text(anova(small, fits$torch), anova(reference, fits$lm))
    expect_like_lm(anova(small, fits$torch), anova(reference, fits$lm))
    expect_like_lm(add1(fits$torch, CASES[[name]]$add), add1(fits$lm, CASES[[name]]$add))
  }
  fits <- case("plain")
  stepped <- step(fits$torch, trace = 0)
  reference <- step(fits$lm, trace = 0)
  expect_s3_class(stepped, "torch_lm")
  expect_identical(formula(stepped), formula(reference))
  expect_like_lm(coef(stepped), coef(reference))
  expect_like_lm(stepped$anova[-1], reference$anova[-1])
})

test_that("plot() draws lm()'s diagnostic plots, one page each, and the training on one page", {
  skip_if_no_python()
  expect_error(plot(case("two")$torch, which = 1), "'plot.mlm' is not implemented yet")
  for (name in c("weighted", "na.exclude", "aliased")) {
    fits <- case(name)
    for (which in 1:6) {
      expect_identical(pages(plot(fits$torch, which = which)), pages(plot(fits$lm, which = which)))
    }
  }
  fits <- case("plain")
  expect_identical(pages(plot(fits$torch)), 1L)
  expect_identical(pages(plot(fits$torch, which = "loss")), 1L)
  expect_identical(pages(termplot(fits$torch)), pages(termplot(fits$lm)))
})

test_that("y ~ 1, y ~ 0 and more coefficients than rows fit as in lm()", {
  skip_if_no_python()
  for (formula in list(mpg ~ 1, mpg ~ 0, mpg ~ 0 + wt)) {
    fit <- torch_lm(formula, data = mtcars, seed = 1)
    reference <- lm(formula, data = mtcars)
    for (f in list(coef, residuals, fitted, deviance, logLik, AIC, hatvalues, sigma, df.residual,
                   function(f) predict(f, se.fit = TRUE), cooks.distance, effects)) {
      if (!lm_refuses(f, fit, reference)) expect_like_lm(f(fit), f(reference))
    }
    expect_same_text(anova(fit), anova(reference))
    expect_equal(summary(fit)$df, summary(reference)$df)
    expect_equal(summary(fit)$r.squared, summary(reference)$r.squared, tolerance = 1e-8)
    expect_identical(printed_without_fit(fit), printed_without_fit(reference))
    expect_identical(printed_without_fit(summary(fit)), printed_without_fit(summary(reference)))
  }
  x <- cbind("(Intercept)" = 1, wt = mtcars$wt)[, 1, drop = FALSE]
  expect_like_lm(coef(torch_lm_fit(x, mtcars$mpg, seed = 1)), coef(lm.fit(x, mtcars$mpg)))
  # 4 rows, 6 coefficients: the first 4 columns of R's QR are fitted, the rest NA
  rows <- mtcars[c(1, 3, 5, 7), ]
  fit <- torch_lm(mpg ~ wt + hp + qsec + disp + drat, data = rows, seed = 1)
  reference <- lm(mpg ~ wt + hp + qsec + disp + drat, data = rows)
  expect_identical(is.na(coef(fit)), is.na(coef(reference)))
  expect_equal(coef(fit), coef(reference), tolerance = 1e-8)
  expect_identical(fit$rank, reference$rank)
  expect_identical(fit$df.residual, 0L)
  expect_like_lm(hatvalues(fit), hatvalues(reference))
})

test_that("qr = FALSE keeps no decomposition, as lm(qr = FALSE)", {
  skip_if_no_python()
  fit <- torch_lm(mpg ~ wt + hp, data = mtcars, seed = 1, qr = FALSE)
  expect_null(fit$qr)
  expect_null(fit$effects)
  expect_equal(coef(fit), coef(lm(mpg ~ wt + hp, data = mtcars)), tolerance = 1e-8)
  expect_error(hatvalues(fit), "qr")
  expect_s3_class(summary(fit), "summary.torch_lm")
})

test_that("aliased coefficients are NA, as in lm(), not NaN", {
  skip_if_no_python()
  fit <- case("aliased")$torch
  expect_identical(is.na(coef(fit)), c("(Intercept)" = FALSE, wt = FALSE, hp = FALSE, x3 = TRUE))
  expect_false(any(is.nan(coef(fit))))
})

test_that("a fit with rows held out is lm()'s on its training rows; the held-out rows are named", {
  skip_if_no_python()
  fits <- case("validation")
  fit <- fits$torch
  reference <- fits$lm
  # The split: positions among the rows the model frame kept, named by the data's rows.
  kept <- rownames(na.omit(airquality[c("Ozone", "Solar.R", "Wind", "Month", "Temp")]))
  expect_identical(sort(unname(c(fit$train_rows, fit$valid_rows))), seq_along(kept))
  expect_identical(names(fit$valid_rows), kept[fit$valid_rows])
  expect_identical(rownames(model.frame(fit)), names(fit$train_rows))
  # What depends only on the rows and the design is lm()'s exactly.
  for (part in c("weights", "na.action", "df.residual", "rank", "xlevels")) {
    expect_identical(fit[[part]], reference[[part]], info = part)
  }
  expect_identical(nobs(fit), nobs(reference))
  expect_identical(model.matrix(fit), model.matrix(reference))
  expect_equal(model.frame(fit), model.frame(reference), ignore_attr = "terms")
  expect_identical(hatvalues(fit), hatvalues(reference))
  for (part in c("qr", "qraux", "pivot", "rank")) {
    expect_identical(as.vector(fit$qr[[part]]), as.vector(reference$qr[[part]]), info = part)
  }
  expect_length(residuals(fit), nrow(airquality) - length(fit$valid_rows))  # padded by na.exclude
  # broom's glance(): lm()'s columns, and the optimizer's
  g <- broom::glance(fit)
  expect_like_lm(as.list(g[names(broom::glance(reference))]), as.list(broom::glance(reference)))
  # predict() with newdata: every row, held out or not
  expect_like_lm(predict(fit, newdata = airquality), predict(reference, newdata = airquality))
  # The history keeps the validation loss; summary() says how many rows were held out.
  expect_true(all(is.finite(fit$history$val_loss)))
  expect_output(print(summary(fit)), sprintf("%d rows held out", length(fit$valid_rows)))
})

test_that("robust standard errors of a fit with rows held out are lm()'s on its training rows", {
  skip_if_no_python()
  skip_without_lm_packages()
  # The tutorial's model (examples/ultramarathon.R); sandwich counted held-out rows of
  # weight 0 in its meat, so the distance's HC0 standard error was 34.6, not lm()'s 43.0.
  formula <- time_in_seconds ~ distance + elevation_gain + elevation_loss
  fit <- torch_lm(formula, data = ultra_winners, validation = 0.2, seed = 1)
  training <- setdiff(seq_len(nrow(ultra_winners)), fit$valid_rows)  # no row has an NA
  reference <- lm(formula, data = ultra_winners, subset = training)
  for (type in c("HC0", "HC1", "HC2", "HC3")) {
    expect_close(sandwich::vcovHC(fit, type = type), sandwich::vcovHC(reference, type = type), 1e-8)
  }
  expect_close(lmtest::coeftest(fit, vcov. = sandwich::vcovHC)[, 1:3],
               lmtest::coeftest(reference, vcov. = sandwich::vcovHC)[, 1:3], 1e-8)
  expect_close(summary(fit)$coefficients, summary(reference)$coefficients, 1e-8)
  expect_close(car::vif(fit), car::vif(reference), 1e-12)
})

test_that("update(), add1() and step() of a fit with rows held out keep its split", {
  skip_if_no_python()
  fit <- torch_lm(mpg ~ wt + hp + qsec, data = mtcars, validation = 0.25)
  expect_identical(fit$call$seed, as.numeric(fit$settings$seed))  # the seed drawn, in the call
  again <- update(fit)
  expect_identical(again$valid_rows, fit$valid_rows)
  expect_identical(coef(again), coef(fit))
  training <- !rownames(mtcars) %in% names(fit$valid_rows)
  reference <- lm(mpg ~ wt + hp + qsec, data = mtcars, subset = training)
  smaller <- update(fit, . ~ . - qsec)
  expect_identical(smaller$valid_rows, fit$valid_rows)
  expect_like_lm(anova(smaller, fit), anova(update(reference, . ~ . - qsec), reference))
  expect_like_lm(add1(fit, ~ . + disp + drat), add1(reference, ~ . + disp + drat))
  expect_like_lm(drop1(fit), drop1(reference))
  # A frame rebuilt from the call leaves the held-out rows out, as lm(subset =) would.
  expect_identical(rownames(model.frame(fit, na.action = na.omit)), rownames(mtcars)[training])
  stepped <- step(fit, trace = 0)
  expect_identical(formula(stepped), formula(step(reference, trace = 0)))
  expect_identical(stepped$valid_rows, fit$valid_rows)
  # add1() needs the scope's variables on every training row
  gappy <- transform(mtcars, extra = ifelse(seq_len(32) %% 2 == 0, NA, disp))
  fit <- torch_lm(mpg ~ wt + hp, data = gappy, validation = 0.25, seed = 1)
  expect_error(add1(fit, ~ . + extra), "missing values", class = "torchlinreg_input_error")
})

test_that("torch_lm_fit() with rows held out keeps the training rows of x, as lm.fit() on them", {
  skip_if_no_python()
  x <- cbind("(Intercept)" = 1, wt = mtcars$wt, hp = mtcars$hp)
  fit <- torch_lm_fit(x, mtcars$mpg, weights = mtcars$carb, validation = 0.25, seed = 3)
  train <- fit$train_rows
  reference <- lm(mpg ~ wt + hp, data = mtcars[train, ], weights = carb)
  expect_identical(unname(model.matrix(fit)), unname(x[train, ]))
  expect_identical(unname(fit$weights), mtcars$carb[train])
  expect_identical(unname(hatvalues(fit)), unname(hatvalues(reference)))
  expect_close(residuals(fit), residuals(reference), 1e-8)
  expect_close(cooks.distance(fit), cooks.distance(reference), 1e-8)
  expect_length(predict(fit), length(train))
  expect_length(predict(fit, newdata = x), nrow(x))
})

test_that("a fit with an aliased column resumes on the columns it was fitted on", {
  skip_if_no_python()
  args <- list(mpg ~ wt + hp + x3, data = aliased_cars, seed = 1, tol = 0)
  first <- quiet(do.call(torch_lm, c(args, epochs = 100)))
  resumed <- quiet(torch_lm(mpg ~ wt + hp + x3, data = aliased_cars, resume = first, epochs = 100))
  straight <- quiet(do.call(torch_lm, c(args, epochs = 200)))
  expect_identical(coef(resumed), coef(straight))
  expect_identical(resumed$qr, straight$qr)
  # one fitted without the QR (Python chose the aliased column) resumes with it
  first <- quiet(do.call(torch_lm, c(args, epochs = 100, qr = FALSE)))
  resumed <- quiet(torch_lm(mpg ~ wt + hp + x3, data = aliased_cars, resume = first, epochs = 100))
  expect_identical(is.na(coef(resumed)), is.na(coef(straight)))
  expect_equal(hatvalues(resumed), hatvalues(straight), tolerance = 1e-12)
})
