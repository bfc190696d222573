# save_fit(), load_fit() and resume = (issue 6): nothing lost, bit for bit.

without_python <- function(fit) {
  attr(fit, "python_fit") <- NULL
  fit
}

test_that("save_fit() and load_fit() round-trip a formula fit: every field, and the methods", {
  skip_if_no_python()
  data <- mtcars
  data$cyl <- factor(data$cyl)
  data$mpg[3] <- NA
  fit <- quiet(torch_lm(mpg ~ poly(hp, 2) + cyl + log(wt), data = data, weights = carb,
                        seed = 4, epochs = 300, tol = 0, validation = 0.2))
  path <- save_fit(fit, file.path(withr::local_tempdir(), "fit"))
  expect_match(path, "/fit$")  # exactly the path given (no .npz added)
  loaded <- load_fit(path)
  expect_identical(without_python(loaded)[setdiff(names(fit), c("terms", "model", "call"))],
                   without_python(fit)[setdiff(names(fit), c("terms", "model", "call"))])
  # terms and calls are parsed back from text, their environments the global one
  expect_identical(environment(loaded$terms), globalenv())
  expect_identical(deparse(loaded$call), deparse(fit$call))
  for (name in c("terms", "model")) {
    original <- fit[[name]]
    if (name == "model") attr(original, "terms") <- NULL
    restored <- loaded[[name]]
    if (name == "model") attr(restored, "terms") <- NULL
    if (name == "terms") {
      # poly()'s coefficients: a list inside the call, parsed back as a call to list()
      exact <- function(e) paste(deparse(e, width.cutoff = 500L,
                                         control = c("keepNA", "keepInteger", "niceNames", "digits17")),
                                 collapse = "")
      expect_identical(exact(attr(restored, "predvars")), exact(attr(original, "predvars")))
      attr(original, "predvars") <- attr(restored, "predvars") <- NULL
      environment(original) <- environment(restored) <- globalenv()
    }
    expect_equal(restored, original, tolerance = 0)
  }
  expect_identical(class(loaded), class(fit))
  expect_identical(coef(loaded), coef(fit))
  expect_identical(summary(loaded)$coefficients, summary(fit)$coefficients)
  expect_identical(capture.output(print(loaded)), capture.output(print(fit)))
  newdata <- data.frame(hp = c(90, 250), cyl = factor(c(4, 8), levels = c(4, 6, 8)), wt = c(2, 4))
  expect_identical(predict(loaded, newdata, interval = "confidence"),
                   predict(fit, newdata, interval = "confidence"))
  expect_identical(loaded$na.action, fit$na.action)
})

test_that("500 steps and a resume of 500 equal 1,000 straight, in session and after save/load", {
  skip_if_no_python()
  straight <- quiet(torch_lm(dist ~ speed, data = cars, seed = 7, epochs = 1000, tol = 0))
  first <- quiet(torch_lm(dist ~ speed, data = cars, seed = 7, epochs = 500, tol = 0))
  expect_identical(first$convergence$stop_reason, "max_epochs")
  resumed <- quiet(torch_lm(dist ~ speed, data = cars, resume = first, epochs = 500))
  loaded <- load_fit(save_fit(first, tempfile(fileext = ".npz")))
  after_load <- quiet(torch_lm(dist ~ speed, data = cars, resume = loaded, epochs = 500))
  for (fit in list(resumed, after_load)) {
    expect_identical(coef(fit), coef(straight))
    expect_identical(fit$history, straight$history)
    expect_identical(fit$convergence, straight$convergence)
    expect_identical(fitted(fit), fitted(straight))
    expect_identical(summary(fit)$coefficients, summary(straight)$coefficients)
    expect_equal(fit$settings$epochs, 1000)
    expect_identical(fit$settings$seed, straight$settings$seed)
  }
  # resuming leaves the fit it started from as it was
  expect_equal(nrow(first$history), 501)
})

test_that("torch_lm_fit() fits with minibatches and several responses save, load and resume exactly", {
  skip_if_no_python()
  x <- cbind("(Intercept)" = 1, as.matrix(mtcars[, c("hp", "wt", "qsec")]))
  y <- as.matrix(mtcars[, c("mpg", "drat")])
  args <- list(x = x, y = y, optimizer = "sgd", lr = 0.01, momentum = 0.9, batch_size = 8,
               seed = 2)
  straight <- quiet(do.call(torch_lm_fit, c(args, epochs = 6, tol = 0)))
  first <- quiet(do.call(torch_lm_fit, c(args, epochs = 3, tol = 0)))
  loaded <- load_fit(save_fit(first, tempfile()))
  expect_s3_class(loaded, "torch_mlm")
  expect_identical(coef(loaded), coef(first))
  expect_identical(loaded[["x"]], first[["x"]])
  resumed <- quiet(torch_lm_fit(x, y, resume = loaded, epochs = 3))
  expect_identical(coef(resumed), coef(straight))
  expect_identical(resumed$history, straight$history)
})

test_that("the file is a Python fit too, read without pickle", {
  skip_if_no_python()
  fit <- quiet(torch_lm(dist ~ speed, data = cars, seed = 1, epochs = 50, tol = 0))
  path <- save_fit(fit, tempfile(fileext = ".npz"))
  np <- reticulate::import("numpy")
  keys <- np$load(path, allow_pickle = FALSE)$files
  expect_true(all(c("meta", "r_object", "weight") %in% keys))
  tl <- reticulate::import("torchlinreg")
  py_fit <- tl$load(path)
  expect_equal(as.vector(py_fit$coefficients()), unname(coef(fit)), tolerance = 0)
})

test_that("what cannot be saved, loaded or resumed says why, with a class", {
  skip_if_no_python()
  fit <- quiet(torch_lm(dist ~ speed, data = cars, seed = 1, epochs = 50, tol = 0))
  rds <- tempfile(fileext = ".rds")
  saveRDS(fit, rds)
  restored <- readRDS(rds)
  expect_identical(coef(restored), coef(fit))
  expect_error(save_fit(restored, tempfile()), "no Python state", class = "torchlinreg_input_error")
  expect_error(torch_lm(dist ~ speed, data = cars, resume = restored), "load_fit",
               class = "torchlinreg_error")
  expect_error(save_fit(lm(dist ~ speed, cars), tempfile()), class = "torchlinreg_input_error")
  expect_error(load_fit(tempfile()), "no file", class = "torchlinreg_input_error")
  not_npz <- tempfile()
  writeLines("hello", not_npz)
  expect_error(load_fit(not_npz), class = "torchlinreg_error")
  # a fit saved from Python has no R object
  tl <- reticulate::import("torchlinreg")
  py_path <- tempfile(fileext = ".npz")
  tl$fit(as.matrix(cars["speed"]), cars$dist, epochs = 5L, seed = 1L)$save(py_path)
  expect_error(load_fit(py_path), "saved from Python", class = "torchlinreg_input_error")
  # resume continues the same fit: other data or other options are refused
  expect_error(quiet(torch_lm(dist ~ speed, data = cars[-1, ], resume = fit, epochs = 5)),
               class = "torchlinreg_error")
  expect_error(quiet(torch_lm(dist ~ speed, data = cars, resume = fit, optimizer = "sgd",
                              epochs = 5)), "optimizer", class = "torchlinreg_error")
})

test_that("load_fit() refuses a file whose terms or call would run code (issue 17, item 3)", {
  skip_if_no_python()
  fit <- torch_lm(mpg ~ wt + hp, data = mtcars, seed = 1)
  marker <- tempfile()
  evil_terms <- fit
  attr(evil_terms$terms, "predvars") <- bquote(list(mpg, system(.(paste("touch", marker))), hp))
  evil_call <- fit
  evil_call$call$data <- bquote(system(.(paste("touch", marker))))
  for (evil in list(evil_terms, evil_call)) {
    path <- tempfile(fileext = ".npz")
    save_fit(evil, path)
    expect_error(load_fit(path), class = "torchlinreg_input_error", regexp = "system\\(\\)")
    expect_false(file.exists(marker))
  }
  # trusted, it loads; an ordinary fit with poly() and factors loads without trust
  expect_s3_class(load_fit(path, trust = TRUE), "torch_lm")
  ok <- torch_lm(mpg ~ poly(wt, 2) + factor(cyl) + log(hp), data = mtcars, seed = 1)
  path <- tempfile(fileext = ".npz")
  save_fit(ok, path)
  again <- load_fit(path)
  expect_equal(predict(again, mtcars[1:3, ]), predict(ok, mtcars[1:3, ]))
})

test_that("save_fit() writes exactly the path given, once", {
  skip_if_no_python()
  fit <- torch_lm(mpg ~ wt, data = mtcars, seed = 1)
  dir <- tempfile(); dir.create(dir)
  path <- file.path(dir, "fit")
  expect_identical(save_fit(fit, path), path.expand(path))
  expect_identical(list.files(dir), "fit")
  expect_equal(coef(load_fit(path)), coef(fit))
})

test_that("a fit with validation rows saved before it was lm()'s fit on its training rows loads as one", {
  # fixtures/validation-fit-before-training-rows.tlr was saved by torchlinreg at commit
  # 8fcda1e (before 67a5f52): torch_lm(mpg ~ wt + hp, mtcars, validation = 0.25, seed = 1),
  # its rows' components with all 32 rows, weight 0 on the 8 held out.
  skip_if_no_python()
  skip_if_not_installed("sandwich")
  loaded <- load_fit(test_path("fixtures", "validation-fit-before-training-rows.tlr"))
  held_out <- c(2L, 6L, 8L, 11L, 14L, 24L, 25L, 27L)
  expect_identical(unname(loaded$valid_rows), held_out)
  expect_identical(names(loaded$valid_rows), rownames(mtcars)[held_out])
  reference <- lm(mpg ~ wt + hp, mtcars, subset = -held_out)
  expect_identical(nobs(loaded), 24L)
  expect_identical(names(residuals(loaded)), names(residuals(reference)))
  expect_identical(rownames(model.frame(loaded)), rownames(model.frame(reference)))
  expect_identical(df.residual(loaded), df.residual(reference))
  expect_close(coef(loaded), coef(reference), 1e-8)
  expect_close(residuals(loaded), residuals(reference), 1e-6)
  expect_close(vcov(loaded), vcov(reference), 1e-6)
  # sandwich's meat counted the weight-0 rows of the old format
  expect_close(sandwich::vcovHC(loaded, "HC0"), sandwich::vcovHC(reference, "HC0"), 1e-6)
  expect_close(summary(loaded)$r.squared, summary(reference)$r.squared, 1e-8)
})
