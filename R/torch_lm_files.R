#' Fit a linear model on Parquet or CSV files too big for memory
#'
#' `torch_lm_files()` is [torch_lm()] for data that stays on disk: the Python
#' core (`torchlinreg.fit_files()`) reads the files in blocks of `batch_rows`
#' rows through pyarrow, never holding the table. One pass sums the
#' training rows' moments (\eqn{X^\top X}, \eqn{X^\top y}, \eqn{y^\top y} and
#' the column sums, in float64), from which a full-batch fit takes its steps
#' without touching the rows again; minibatches (`batch_size`) read the files
#' once per epoch. The coefficients equal those of [torch_lm()] on the same
#' rows in memory, to rounding.
#'
#' The formula names columns of the files: `y ~ x1 + x2`, `y ~ .` (every
#' other column but `weights`), `y ~ . - x3`, `cbind(y1, y2) ~ x1` for several
#' responses, and `- 1` or `0 +` for no intercept; R's [stats::terms()] reads
#' it, as for `lm()`. Nothing is computed from the columns:
#' factors, `I()`, `log()`, `poly()`, interactions or `offset()` are errors;
#' write such columns into the files, or read the data into R and use
#' [torch_lm()].
#'
#' The fit keeps only the moments of its training rows, so `print()`,
#' `summary()`, `coef()`, `vcov()`, `confint()`, `nobs()`, `deviance()`,
#' `sigma()`, `formula()`, `plot()` (the loss and parameter paths) and
#' `predict(newdata = )` (with confidence and prediction intervals) work as
#' for [torch_lm()], and so do, from the moments, `anova()` against another
#' file fit, `logLik()`, `AIC()`, `BIC()`, `extractAIC()` (weighted fits
#' too: the moments keep the sum of the log weights), `labels()`, `variable.names()`, `tidy()` and `glance()`. The `lm()`
#' functions that need the rows -- `residuals()`, `fitted()`,
#' `model.frame()`, `model.matrix()`, `weights()` of a weighted fit, one
#' model's `anova()`, `hatvalues()`, `influence()`, `cooks.distance()`,
#' `rstandard()`, `rstudent()`, `dfbeta()`, `dfbetas()`, `effects()`,
#' `proj()`, `qr()`, `kappa()`, `alias()`, `plot(which = 1:6)`,
#' `augment()` and those built on them -- raise an error of class
#' `torchlinreg_rows_not_kept`, and the summary shows no residual quantiles.
#'
#' Reading the files needs the Python package pyarrow beside torch.
#'
#' @param formula A formula of column names, as described above; for
#'   `model.frame()`, a `torch_lm_files` fit.
#' @param paths Files, directories (every `.parquet` and `.csv` file in them)
#'   or glob patterns; one character vector, read in the order given.
#' @param ... Further options for the Python `torchlinreg.fit_files()`, as
#'   for [torch_lm()]: `shuffle` (minibatches: visit the files in a seeded
#'   order and shuffle rows within each block), `init`, `verbose` and
#'   optimizer options such as `momentum`.
#' @param format `"parquet"` or `"csv"`; from the file names when `NULL`.
#' @param batch_rows Rows read at a time; memory holds a few blocks of this
#'   many rows. `NULL`: about 16 MiB of values a block.
#' @param weights The name of a column of observation weights (a string),
#'   as `lm(weights = )`; for `predict()`, the weights of the new
#'   observations, as in [predict.torch_lm()].
#' @param validation Fraction of rows held out, chosen by a seeded hash of
#'   each row's file and position (so the count is close to, not exactly,
#'   `validation` times the rows).
#' @inheritParams torch_lm
#' @return An object of class `c("torch_lm_files", "torch_lm", "lm")`
#'   (`c("torch_lm_files", "torch_mlm", "torch_lm", "mlm", "lm")` for several
#'   responses): the components of a [torch_lm()] fit except those that need
#'   the rows (`residuals`, `fitted.values`, `effects`, `qr`, `weights`,
#'   `model`, `train_rows`, `valid_rows`), plus `n_train` and `n_valid`
#'   (rows used for training and held out), `paths` and `weight_column`
#'   (the weights' column name). As a [torch_lm()] fit with rows held out,
#'   it is the fit of its training rows alone: `nobs()`, `df.residual`, the
#'   summary, `logLik()` and `anova()` come from those rows' moments, and
#'   the rows held out are only counted (`n_valid`; they are chosen by the
#'   files' rows, which the fit does not keep, so there are no row indices).
#'   A split's seed, when none is given, is drawn from R's random numbers and
#'   written into the call, so that `update()` holds out the same rows.
#' @seealso [torch_lm()] for data in memory.
#' @export
#' @examplesIf torchlinreg_available()
#' path <- file.path(tempdir(), "mtcars.csv")
#' write.csv(mtcars, path, row.names = FALSE)
#' fit <- torch_lm_files(mpg ~ wt + hp, path, seed = 1)
#' summary(fit)
#' predict(fit, data.frame(wt = 3, hp = 150), interval = "prediction")
#' coef(torch_lm_files(cbind(mpg, qsec) ~ ., path, weights = "cyl", seed = 1))
torch_lm_files <- function(formula, paths, ..., format = NULL, batch_rows = NULL,
                           weights = NULL, optimizer = "adam", lr = NULL, epochs = NULL,
                           batch_size = NULL, validation = 0, standardize = TRUE,
                           dtype = "float64", seed = NULL, tol = NULL, precondition = NULL,
                           stop_iter = NULL) {
  cl <- match.call()
  formula <- stats::as.formula(formula)
  check_file_arguments(paths, weights, list(...))
  require_pyarrow()
  roles <- formula_columns(formula, paths, format, weights)
  # As torch_lm(): update() repeats the split (a seed drawn in R, written into the call).
  drawn <- drawn_seed(seed, validation, list(...), cl)
  seed <- drawn$seed
  cl <- drawn$call
  out <- bridge_call(
    "torch_lm_files", paths = as.list(path.expand(paths)), response = as.list(roles$responses),
    predictors = as.list(roles$predictors), format = format,
    batch_rows = batch_rows, weights = weights, intercept = roles$intercept,
    optimizer = optimizer, lr = lr, epochs = epochs, batch_size = batch_size,
    validation = validation, standardize = standardize, dtype = dtype, seed = seed, tol = tol,
    precondition = precondition, patience = stop_iter, ...)
  predictors <- setdiff(unlist(out$term_names), if (roles$intercept) "(Intercept)")
  frame <- empty_model_frame(formula, roles, predictors)
  z <- files_parts(out, frame, roles$intercept)
  new_torch_lm(c(z, list(paths = paths, weight_column = weights, call = cl)),
               several = length(roles$responses) > 1, files = TRUE, python_fit = out$python_fit)
}

# The columns a formula asks for, read as lm() reads it (terms(), '.' over
# the files' columns but `weights`): responses, predictors, intercept. Each
# term must be a column as it is; anything computed is a classed error.
formula_columns <- function(formula, paths, format, weights) {
  if (length(formula) != 3L) {
    abort("the formula has no response; write it as response ~ predictors.",
          "input_error")
  }
  data <- NULL
  if ("." %in% all.vars(formula[[3L]])) {
    columns <- bridge_call("torch_lm_files_columns", paths = as.list(path.expand(paths)),
                           format = format)
    columns <- setdiff(unlist(columns), weights)
    data <- as.data.frame(stats::setNames(rep(list(numeric(0)), length(columns)), columns),
                          check.names = FALSE)
  }
  tt <- stats::terms(formula, data = data)
  variables <- as.list(attr(tt, "variables"))[-1L]
  if (length(attr(tt, "offset"))) unsupported_term(variables[[attr(tt, "offset")[1L]]])
  factors <- attr(tt, "factors")
  predictors <- vapply(attr(tt, "term.labels"), function(term) {
    used <- which(factors[, term] > 0)
    if (length(used) != 1L || !is.name(variables[[used]])) unsupported_term(str2lang(term))
    as.character(variables[[used]])
  }, character(1), USE.NAMES = FALSE)
  list(responses = formula_lhs(variables[[attr(tt, "response")]]), predictors = predictors,
       intercept = attr(tt, "intercept") == 1L)
}

formula_lhs <- function(lhs) {
  if (is.name(lhs)) return(as.character(lhs))
  if (is.call(lhs) && identical(lhs[[1L]], quote(cbind))) {
    columns <- as.list(lhs)[-1L]
    if (length(columns) && all(vapply(columns, is.name, logical(1))) && is.null(names(columns))) {
      return(vapply(columns, as.character, character(1)))
    }
  }
  unsupported_term(lhs)
}

unsupported_term <- function(expr) {
  abort(paste0(
    "torch_lm_files() reads columns as they are in the files, so its formula takes only column ",
    "names (y ~ x1 + x2), '.' for every other column (. - x3 for all but x3), cbind(y1, y2) ~ ... ",
    "for several responses and - 1 for no intercept; '", paste(deparse(expr), collapse = " "),
    "' is none of these. Write such columns (factors as 0/1 columns, transformations, ",
    "products) into the files, or read the data into R and use torch_lm(), which takes any ",
    "lm() formula."),
    c("formula_error", "input_error"))
}

check_file_arguments <- function(paths, weights, options) {
  if (!is.character(paths) || !length(paths) || anyNA(paths)) {
    abort("'paths' must be a character vector of files, directories or glob patterns.",
          "input_error")
  }
  if (!is.null(weights) && !(is.character(weights) && length(weights) == 1L && !is.na(weights))) {
    abort(paste0("'weights' names a column of the files, as a string (weights = \"w\"); ",
                 "put weights that are not in the files into them as a column."),
          "input_error")
  }
  if (length(options) && (is.null(names(options)) || !all(nzchar(names(options))))) {
    abort(paste0("options in ... must be named (e.g. momentum = 0.9); give several files as ",
                 "one vector, paths = c(\"a.csv\", \"b.csv\")."),
          "input_error")
  }
}

# A model frame with no rows but the fit's columns, all numeric: its terms
# (with the dataClasses predict() checks newdata against) and the design's
# column names and "assign", as lm() would have them.
empty_model_frame <- function(formula, roles, predictors) {
  rhs <- Reduce(function(a, b) call("+", a, b), lapply(predictors, as.name)) %||% 1
  if (!roles$intercept) rhs <- call("-", rhs, 1)
  plain <- eval(call("~", formula[[2L]], rhs))
  environment(plain) <- environment(formula)
  columns <- unique(c(roles$responses, predictors))
  data <- as.data.frame(stats::setNames(rep(list(numeric(0)), length(columns)), columns),
                        check.names = FALSE)
  stats::model.frame(plain, data)
}

# The torch_lm_files components from the bridge's numbers, built by
# torch_lm_parts() over a design with no rows; the parts that need the rows
# are then taken out.
files_parts <- function(out, frame, has_intercept) {
  terms <- attr(frame, "terms")
  x <- stats::model.matrix(terms, frame)
  y <- stats::model.response(frame, "numeric")
  # The core names terms by column; the design by lm()'s labels (`a b` for a b).
  out$term_names <- as.list(colnames(x))
  k <- length(out$response_names)
  out$fitted_values <- out$residuals <- matrix(numeric(0), 0L, k)
  out$train_index <- out$valid_index <- integer(0)
  z <- torch_lm_parts(out, x, y, NULL, has_intercept)
  z[c("residuals", "fitted.values", "train_rows", "valid_rows")] <- NULL
  z$n_train <- out$n_train
  z$n_valid <- out$n_valid
  z$log_weight_sum <- out$log_weight_sum
  z$terms <- terms
  z$xlevels <- stats::.getXlevels(terms, frame)
  z
}

# Reading files needs pyarrow, which the core imports only then.
require_pyarrow <- function() {
  python_bridge()
  problem <- import_problem("pyarrow")
  if (is.null(problem)) return(invisible(TRUE))
  abort(paste0("torch_lm_files() reads files with the Python package pyarrow, which the Python at ",
               reticulate::py_config()$python, " cannot import (", problem, "); ",
               "install_torchlinreg(extras = \"files\") adds it to the virtualenv it makes ",
               "(or pip install 'torchlinreg[files]' in that Python)."),
        "python_missing")
}

rows_not_kept <- function(what) {
  abort(sprintf(paste0("%s needs the rows, which a fit from files does not keep (only their ",
                       "moments); read the data into R and use torch_lm() for it."), what),
        c("rows_not_kept", "input_error"))
}

#' @rdname torch_lm_files
#' @param object A `torch_lm_files` fit.
#' @export
summary.torch_lm_files <- function(object, ...) {
  # summary.torch_lm() and summary.torch_mlm() on no residual rows; the
  # summaries then say there are none (print shows no residual quantiles).
  stub <- object
  stub$residuals <- matrix(numeric(0), 0L, length(object$inference$sigma))
  class(stub) <- setdiff(class(object), "torch_lm_files")
  out <- summary(stub, ...)  # correlation, symbolic.cor
  without_rows <- function(s) {
    s$residuals <- NULL
    s$n_valid <- object$n_valid
    s
  }
  if (inherits(out, "summary.torch_lm")) return(without_rows(out))
  out[] <- lapply(out, without_rows)
  out
}

#' @rdname torch_lm_files
#' @param newdata A data frame with the predictor columns (required).
#' @param interval As for [predict.torch_lm()].
#' @export
predict.torch_lm_files <- function(object, newdata, ...,
                                   interval = c("none", "confidence", "prediction"), weights = 1) {
  if (missing(newdata) || is.null(newdata)) {
    abort(paste0("predict() on a fit from files needs newdata (a data frame of the predictor ",
                 "columns): the fitted rows were not kept."),
          c("rows_not_kept", "input_error"))
  }
  interval <- match.arg(interval)
  if (interval == "prediction" && missing(weights) && !is.null(object$weight_column)) {
    warning("Assuming constant prediction variance even though model fit is weighted\n")
  }
  NextMethod()
}

#' @rdname torch_lm_files
#' @export
deviance.torch_lm_files <- function(object, ...) {
  # The (weighted) residual sum of squares of the training rows, from the moments.
  d <- unname(object$inference$sigma^2 * object$df.residual)
  if (length(d) == 1L) d else stats::setNames(d, names(object$inference$sigma))
}

#' @rdname torch_lm_files
#' @export
residuals.torch_lm_files <- function(object, ...) rows_not_kept("residuals()")

#' @rdname torch_lm_files
#' @export
fitted.torch_lm_files <- function(object, ...) rows_not_kept("fitted()")

#' @rdname torch_lm_files
#' @export
model.frame.torch_lm_files <- function(formula, ...) rows_not_kept("model.frame()")

#' @rdname torch_lm_files
#' @export
model.matrix.torch_lm_files <- function(object, ...) rows_not_kept("model.matrix()")

#' @rdname torch_lm_files
#' @export
weights.torch_lm_files <- function(object, ...) {
  if (is.null(object$weight_column)) return(NULL)
  rows_not_kept(sprintf("weights() (the column '%s')", object$weight_column))
}

# --- lm()'s functions on a fit from files ------------------------------------------------------
# Those that need the rows (through its qr or residuals) say so with the
# classed error; those computable from the moments are computed from them.

#' @rdname torch_lm_files
#' @param model,fit,x,z,k,scale,REML,which As for the `lm` methods of these
#'   generics (for `plot()`, numbers, lm()'s diagnostics, need the rows).
#' @export
logLik.torch_lm_files <- function(object, REML = FALSE, ...) {
  if (REML) rows_not_kept("logLik(REML = TRUE)")
  if (inherits(object, "torch_mlm")) stop("'logLik.lm' does not support multiple responses")
  # logLik.lm() from the (weighted) residual sum of squares, the number of rows of
  # positive weight and, for a weighted fit, sum(log(w)) over them (kept by the moments).
  n <- object$inference$n_obs
  log_w <- if (is.null(object$weight_column)) 0 else object$log_weight_sum
  if (is.null(log_w)) rows_not_kept("logLik() of a weighted fit saved without sum(log(w))")
  value <- 0.5 * (log_w - n * (log(2 * pi) + 1 - log(n) + log(stats::deviance(object))))
  structure(value, nall = n, nobs = n, df = object$rank + 1, class = "logLik")
}

#' @rdname torch_lm_files
#' @export
extractAIC.torch_lm_files <- function(fit, scale = 0, k = 2, ...) {
  # extractAIC.lm() with the number of rows from the moments.
  n <- fit$inference$n_obs
  edf <- n - fit$df.residual
  rss <- stats::deviance(fit)
  dev <- if (scale > 0) rss / scale - n else n * log(rss / n)
  c(edf, dev + k * edf)
}

#' @rdname torch_lm_files
#' @export
anova.torch_lm_files <- function(object, ...) {
  # Nested models compare deviances (anova.lmlist()); one model's
  # sequential sums of squares need its effects, from the rows.
  if (!length(list(...))) rows_not_kept("anova() of one model (its sequential sums of squares)")
  NextMethod()
}

#' @rdname torch_lm_files
#' @export
variable.names.torch_lm_files <- function(object, full = FALSE, ...) {
  names(object$aliased)[full | !object$aliased]
}

#' @rdname torch_lm_files
#' @param full As for [stats::variable.names()]: the aliased coefficients too.
#' @export
labels.torch_lm_files <- function(object, ...) {
  attr(object$terms, "term.labels")[unique(object$assign[!object$aliased])]
}

#' @rdname torch_lm_files
#' @export
hatvalues.torch_lm_files <- function(model, ...) rows_not_kept("hatvalues()")

#' @rdname torch_lm_files
#' @export
influence.torch_lm_files <- function(model, ...) rows_not_kept("influence()")

#' @rdname torch_lm_files
#' @export
cooks.distance.torch_lm_files <- function(model, ...) rows_not_kept("cooks.distance()")

#' @rdname torch_lm_files
#' @export
rstandard.torch_lm_files <- function(model, ...) rows_not_kept("rstandard()")

#' @rdname torch_lm_files
#' @export
rstudent.torch_lm_files <- function(model, ...) rows_not_kept("rstudent()")

#' @rdname torch_lm_files
#' @export
dfbeta.torch_lm_files <- function(model, ...) rows_not_kept("dfbeta()")

#' @rdname torch_lm_files
#' @export
dfbetas.torch_lm_files <- function(model, ...) rows_not_kept("dfbetas()")

#' @rdname torch_lm_files
#' @export
effects.torch_lm_files <- function(object, ...) rows_not_kept("effects()")

#' @rdname torch_lm_files
#' @export
proj.torch_lm_files <- function(object, ...) rows_not_kept("proj()")

#' @rdname torch_lm_files
#' @export
qr.torch_lm_files <- function(x, ...) rows_not_kept("qr()")

#' @rdname torch_lm_files
#' @export
kappa.torch_lm_files <- function(z, ...) rows_not_kept("kappa()")

#' @rdname torch_lm_files
#' @export
alias.torch_lm_files <- function(object, ...) rows_not_kept("alias()")

#' @rdname torch_lm_files
#' @export
plot.torch_lm_files <- function(x, which = c("loss", "parameters"), ...) {
  if (is.numeric(which)) rows_not_kept("plot(which = <number>), lm()'s diagnostic plots,")
  NextMethod()
}
