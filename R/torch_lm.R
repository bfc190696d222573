#' Fit a linear model by gradient descent in PyTorch
#'
#' `torch_lm()` has the interface of [stats::lm()]: the model frame and the
#' design matrix are built exactly as `lm()` builds them (factors,
#' interactions, `I()`, `poly()`, `- 1`, `subset`, `weights`, `offset`,
#' `na.action`, `contrasts`, several responses with `cbind()`), and the whole
#' matrix goes to the Python core in one call, which minimizes the mean
#' squared error with a torch optimizer. Columns that are exact linear
#' combinations of others get `NA` coefficients, as in `lm()`.
#'
#' With the defaults (Adam, learning rate 0.1 on the QR-preconditioned
#' design, float64, stopping when the gradient norm falls below 1e-14 of its
#' start) the coefficients agree with `lm()` to about 1e-10 relative error
#' or better, whatever the correlations of the columns.
#'
#' Ctrl-C during the fit stops it and returns the fit so far:
#' `convergence$stop_reason` is `"interrupted"`, `converged` is `FALSE`, and
#' the coefficients are those of the last step in `history`; `resume =`
#' continues it. Interrupted before its first step, the call is an error of
#' class `torchlinreg_interrupted` (also an R `interrupt` condition).
#'
#' @param formula,data,subset,weights,na.action,offset,contrasts As in
#'   [stats::lm()].
#' @param ... Further options for the Python `torchlinreg.fit()`: optimizer
#'   options such as `momentum`, `nesterov` or `betas`, and `shuffle`,
#'   `init`, `engine`; `verbose`: `TRUE` shows the Python core's progress
#'   bar (tqdm, on the standard error stream of the R process, so in the
#'   terminal R runs in), `FALSE` none, and the default (`NULL`) one in
#'   interactive sessions at a terminal once a fit has run for a second;
#'   the fit is the same, bit for bit, with or without it. Warnings of the
#'   core (such as a fit that stops before converging) are R warnings of
#'   class `torchlinreg_<type>` (`torchlinreg_convergence_warning`); and
#'   `resume`: a `torch_lm` fit (from this
#'   session or [load_fit()]) whose optimizer is continued for `epochs`
#'   further steps on the same data, exactly as if it had never stopped
#'   (options left out are taken from it; see [save_fit()]).
#' @param optimizer `"adam"`, `"sgd"`, `"adamw"`, `"rmsprop"`, `"adagrad"` or
#'   `"lbfgs"`.
#' @param lr Learning rate; default per optimizer (0.1 for Adam and SGD).
#' @param epochs At most this many steps (full batch, default 10,000) or
#'   passes over the data (minibatches, default 100).
#' @param batch_size `NULL` for full batch, else the minibatch size.
#' @param validation Fraction of rows held out (seeded split); its loss is
#'   tracked at every step (`history$val_loss`) and it is not used for
#'   fitting or inference: the fit is that of the training rows (see Value).
#' @param precondition What the optimizer works on: `"qr"` (the default)
#'   the coefficients of the orthonormalized, centred and standardized
#'   design, so the loss it sees has an identity Hessian and gradient descent
#'   converges whatever the correlations; `"standardize"` z-scored columns
#'   and response (the tutorials' choice, and their loss curves); `"none"`
#'   the raw columns. Coefficients are reported on the original scale.
#' @param standardize `FALSE` is `precondition = "none"`.
#' @param stop_iter Early stopping (brulee's name): stop when the validation
#'   loss has set no new low for this many steps (epochs with minibatches);
#'   needs `validation`. The fit's `stop_reason` is then `"early_stopping"`.
#' @param dtype `"float64"` or `"float32"`.
#' @param seed Seed for the split, the batches and random starts. When
#'   `NULL` it is drawn from R's random numbers, so `set.seed()` repeats the
#'   fit, and recorded in `settings$seed` (with `validation` also written
#'   into the call, so `update()` holds out the same rows). A fit made in
#'   Python may hold a seed beyond R's integers: `settings$seed` gives it as
#'   its decimal digits, which `seed =` takes back.
#' @param tol Stop when the gradient norm falls below `tol` times its start
#'   (default 1e-14 in float64 with `precondition = "qr"`, else 1e-12; 3e-8
#'   in float32, 3e-7 for SGD).
#' @param qr Keep the QR decomposition of the design (`qr`) and the
#'   `effects`, as `lm(qr = TRUE)`; `FALSE` saves the decomposition's time
#'   and memory on big data, and the `lm()` functions that need it
#'   ([stats::hatvalues()], [stats::influence()], [stats::anova()],
#'   `predict(type = "terms")`, ...) then stop with `lm()`'s error.
#' @return An object of class `c("torch_lm", "lm")`
#'   (`c("torch_mlm", "torch_lm", "mlm", "lm")` for several responses),
#'   which carries every component of an `lm` object, so that the functions
#'   written for `lm()` fits work on it: `coefficients` (named as `lm()`
#'   names them, `NA` where aliased; a matrix for several responses),
#'   `residuals`, `effects`, `rank`, `fitted.values`, `assign`, `qr`,
#'   `df.residual`, `weights` (and `prior.weights`, the weights given),
#'   `na.action`, `offset`, `contrasts`, `xlevels`, `call`, `terms` and
#'   `model`. Values that depend on the coefficients (residuals, fitted
#'   values, the first `rank` effects, and so the log-likelihood, influence
#'   measures and `anova()`'s sums of squares) are those at the coefficients
#'   the optimizer found; the QR decomposition is R's own of the design, as
#'   `lm()` takes it. Beside these: `history` (one
#'   row per step: losses and every coefficient), `convergence`
#'   (`converged`, `n_iter`, `n_steps`, `stop_reason`), `settings`,
#'   `train_rows`, `valid_rows`, `aliased` and the inference numbers used by
#'   [summary.torch_lm()].
#'
#'   With rows held out (`validation`) the object is `lm()`'s fit on the
#'   training rows, `lm(formula, data, subset = <training rows>)`:
#'   `residuals`, `fitted.values`, `weights`, `offset` and `model` (and
#'   [torch_lm_fit()]'s `x`) have the training rows only, `na.action` numbers
#'   the rows it dropped as `lm()` would without the rows held out, and
#'   `nobs()`, `df.residual`, `predict()` without `newdata`, `hatvalues()`,
#'   `anova()`, `AIC()`, `sandwich::vcovHC()`, `broom::augment()` and the
#'   rest are that fit's. `predict(fit, newdata)` predicts any rows, those
#'   held out too. `valid_rows` and `train_rows` are the positions of the
#'   rows held out and fitted among the rows the model frame kept (after
#'   `subset` and `na.action`), named by the data's row names:
#'   `data[names(fit$valid_rows), ]` are the rows held out. The `call` is
#'   the call made, with `validation` and the split's seed, so `update()`
#'   holds out the same rows; its `subset` is the one given (none when none
#'   was), and a model frame rebuilt from the call (`model.frame(fit,
#'   na.action = )`, `add1()`) leaves the rows held out out, by their row
#'   names. Factor levels are those of all the rows, so a level met only in
#'   rows held out has an `NA` coefficient where `lm(subset = )` would drop
#'   the level.
#' @seealso [torch_lm_fit()] for matrices; [compare_lm()]; [summary.torch_lm()].
#' @export
#' @examplesIf torchlinreg_available()
#' fit <- torch_lm(dist ~ speed, data = cars, seed = 1)
#' fit
#' summary(fit)
#' compare_lm(fit)
torch_lm <- function(formula, data, subset, weights, na.action, offset, contrasts = NULL, ...,
                     optimizer = "adam", lr = NULL, epochs = NULL, batch_size = NULL,
                     validation = 0, standardize = TRUE, dtype = "float64", seed = NULL,
                     tol = NULL, qr = TRUE, precondition = NULL, stop_iter = NULL) {
  cl <- match.call()
  # As lm(): the model frame from the call's own arguments.
  mf <- match.call(expand.dots = FALSE)
  m <- match(c("formula", "data", "subset", "weights", "na.action", "offset"), names(mf), 0L)
  mf <- mf[c(1L, m)]
  mf$drop.unused.levels <- TRUE
  mf[[1L]] <- quote(stats::model.frame)
  mf <- model_frame(mf, parent.frame())
  mt <- attr(mf, "terms")
  response <- stats::model.response(mf)
  if (!is.null(response) && !is.numeric(response) && !is.logical(response)) {
    abort(sprintf(paste0(
      "the response %s is %s, not numeric: a linear model (lm() too) needs numbers; use ",
      "as.numeric() if its codes are meant, or a model for categories."),
      deparse(formula[[2L]]), if (is.factor(response)) "a factor" else class(response)[1]),
      "input_error")
  }
  y <- stats::model.response(mf, "numeric")
  if (is.null(y)) {
    abort("the formula has no response; write it as response ~ terms.",
          "input_error")
  }
  w <- as.vector(stats::model.weights(mf))
  if (!is.null(w) && !is.numeric(w)) {
    abort("'weights' must be a numeric vector.", "input_error")
  }
  offset <- stats::model.offset(mf)
  x <- stats::model.matrix(mt, mf, contrasts)
  drawn <- drawn_seed(seed, validation, list(...), cl)
  seed <- drawn$seed
  cl <- drawn$call
  z <- fit_design(x, y, w, offset, optimizer = optimizer, lr = lr, epochs = epochs,
                  batch_size = batch_size, validation = validation, standardize = standardize,
                  dtype = dtype, seed = seed, tol = tol, qr = qr,
                  precondition = precondition, patience = stop_iter, ...)
  new_torch_lm(training_fit(c(z, list(na.action = attr(mf, "na.action"), offset = offset,
                                      contrasts = attr(x, "contrasts"),
                                      xlevels = stats::.getXlevels(mt, mf),
                                      call = cl, terms = mt, model = mf))),
               several = is.matrix(y) && ncol(y) > 1, python_fit = attr(z, "python_fit"))
}

#' Fit a linear model by gradient descent from a design matrix
#'
#' The matrix interface of [torch_lm()], like [stats::lm.fit()]: `x` is the
#' whole design. A column named `(Intercept)` (as [stats::model.matrix()]
#' makes it), or a first column of ones when `intercept = NA`, is the
#' intercept, which the core fits as its bias.
#'
#' @param x Numeric design matrix, `n` rows.
#' @param y Numeric response: a vector, or a matrix with one column per
#'   response.
#' @param weights,offset Optional numeric vectors of length `n`.
#' @param intercept `NA` (detect, see above), `TRUE` (add one) or `FALSE`.
#' @inheritParams torch_lm
#' @return A `torch_lm` object without `terms` and `model`; `x` is
#'   kept for [predict.torch_lm()] and [stats::model.matrix()].
#' @export
#' @examplesIf torchlinreg_available()
#' x <- cbind("(Intercept)" = 1, speed = cars$speed)
#' fit <- torch_lm_fit(x, cars$dist, seed = 1)
#' coef(fit)
torch_lm_fit <- function(x, y, weights = NULL, offset = NULL, intercept = NA, ...,
                         optimizer = "adam", lr = NULL, epochs = NULL, batch_size = NULL,
                         validation = 0, standardize = TRUE, dtype = "float64", seed = NULL,
                         tol = NULL, qr = TRUE, precondition = NULL, stop_iter = NULL) {
  x <- as.matrix(x)
  if (!is.numeric(x)) {
    abort("'x' must be a numeric matrix; encode factors with model.matrix() or use torch_lm().",
          "input_error")
  }
  if (is.null(colnames(x))) colnames(x) <- paste0("x", seq_len(ncol(x)))
  if (isTRUE(intercept) && !"(Intercept)" %in% colnames(x)) {
    x <- cbind("(Intercept)" = 1, x)
  } else if (is.na(intercept) && ncol(x) > 0 && !"(Intercept)" %in% colnames(x) &&
             all(x[, 1] == 1)) {
    colnames(x)[1] <- "(Intercept)"
  } else if (isFALSE(intercept)) {
    x <- x[, colnames(x) != "(Intercept)", drop = FALSE]
  }
  cl <- match.call()
  drawn <- drawn_seed(seed, validation, list(...), cl)
  seed <- drawn$seed
  cl <- drawn$call
  z <- fit_design(x, y, weights, offset, optimizer = optimizer, lr = lr, epochs = epochs,
                  batch_size = batch_size, validation = validation, standardize = standardize,
                  dtype = dtype, seed = seed, tol = tol, qr = qr,
                  precondition = precondition, patience = stop_iter, ...)
  new_torch_lm(training_fit(c(z, list(offset = offset, x = x, call = cl))),
               several = is.matrix(y) && ncol(y) > 1, python_fit = attr(z, "python_fit"))
}

# The seed of a fit and its call: when none is given (and the fit is not
# resumed, whose seed is kept), one drawn from R's random numbers, so that
# set.seed() repeats the fit (its split, batches and random starts) and the
# fit's settings hold a seed R can give back (one the Python core draws has
# 63 bits, beyond R's integers); with a split it is written into the call,
# so that update() holds out the same rows. list(seed =, call =).
drawn_seed <- function(seed, validation, options, call) {
  if (is.null(seed) && is.null(options$resume)) {
    seed <- as.numeric(sample.int(.Machine$integer.max, 1L))
    if (holds_rows_out(validation)) call$seed <- seed
  }
  list(seed = seed, call = call)
}

# TRUE when `validation` holds rows out (a nonzero fraction).
holds_rows_out <- function(validation) {
  is.numeric(validation) && length(validation) == 1L && !is.na(validation) && validation != 0
}

# The one bridge call: x is the full design (with "(Intercept)" when the
# model has one), y a vector or matrix. Returns the torch_lm object's
# numbers, the components lm() has among them; the callers add what they
# know about formulas.
#
# As lm.fit() does, the design's QR decomposition (R's qr(), LINPACK with
# tolerance 1e-7) decides which columns are aliased; only the others go to
# Python, so a design with more columns than rows fits as in lm(). With
# rows held out for validation the split is Python's, so the QR is taken
# after the fit, of the training rows, and Python finds the aliased columns
# (as it does with qr = FALSE). The rows' components (residuals, ...) are
# still of every row: the callers keep the training rows (training_fit()).
fit_design <- function(x, y, w, offset, ..., verbose = NULL, resume = NULL, qr = TRUE) {
  n <- NROW(y)
  if (nrow(x) != n) {
    abort(sprintf("'x' has %d rows but 'y' has %d; they must match.", nrow(x), n),
          c("shape_error", "input_error"))
  }
  # Only when needed: storage.mode<- on a double matrix wraps it, and
  # reticulate's zero-copy view of a wrapped matrix makes R copy all of it.
  if (!is.double(x)) storage.mode(x) <- "double"
  options <- list(...)
  held_out <- holds_rows_out(options$validation %||% 0) ||
    (!is.null(resume) && length(resume$valid_rows) > 0)
  # A resumed fit sees the columns it saw: chosen by the QR only if it had one.
  choose_columns <- isTRUE(qr) && !held_out && (is.null(resume) || !is.null(resume$qr))
  decomposition <- if (choose_columns) design_qr(x, w)
  design <- x
  if (!is.null(decomposition) && decomposition$rank < ncol(x)) {
    design <- x[, sort(decomposition$pivot[seq_len(decomposition$rank)]), drop = FALSE]
  }
  out <- bridge_fit(design, y, w, offset, options, verbose, resume)
  z <- torch_lm_parts(out, x, y, w, "(Intercept)" %in% colnames(x))
  if (isTRUE(qr) && ncol(x) > 0) {  # lm() keeps no qr for y ~ 0
    fitted <- z$fitted.values
    if (held_out) {  # as lm(subset = training rows): the decomposition of those rows alone
      train <- z$train_rows
      x <- x[train, , drop = FALSE]
      y <- row_subset(y, train)
      fitted <- row_subset(fitted, train)
      w <- w[train]
      offset <- offset[train]
    }
    if (is.null(decomposition) || held_out) decomposition <- design_qr(x, w)
    z <- c(z, lm_decomposition(decomposition, x, y, fitted, offset, w))
  }
  # The Python fit, for resume = and save_fit(); see R/save_load.R.
  attr(z, "python_fit") <- out$python_fit
  z
}

# The bridge's torch_lm_fit() on the design `x`, in one call; its intercept column, if any,
# is the bias. The progress bar and the warnings: see R/progress.R.
bridge_fit <- function(x, y, w, offset, options, verbose, resume) {
  has_intercept <- "(Intercept)" %in% colnames(x)
  # The whole design goes over (no copy without the intercept column in R);
  # Python leaves the intercept column out.
  intercept_column <- if (has_intercept) match("(Intercept)", colnames(x)) - 1L
  y_names <- if (is.matrix(y)) colnames(y) %||% paste0("Y", seq_len(ncol(y))) else "y"
  out <- do.call(bridge_call, c(list(
    "torch_lm_fit", x = x, y = unname(as.matrix(y)), offset = offset,
    names = as.list(colnames(x)[colnames(x) != "(Intercept)"]),
    response_names = as.list(y_names), intercept_column = intercept_column,
    intercept = has_intercept, weights = w, verbose = python_verbose(verbose),
    resume = if (!is.null(resume)) python_fit(resume), hold_warnings = TRUE), options))
  raise_held_warnings(out$warnings)
  out$warnings <- NULL
  out
}
