#' Methods for torch_lm fits
#'
#' A `torch_lm` fit is an `lm` fit (it inherits that class and carries every
#' component of one), so [stats::coef()], [stats::fitted()],
#' [stats::residuals()], [stats::weights()], [stats::deviance()],
#' [stats::model.matrix()], [stats::anova()], [stats::influence()] and the
#' rest are `lm()`'s own methods. These are its own, where the gradient
#' descent adds something or the Python core computed the number:
#' `print()` says how the fit ended, `vcov()` and `confint()` use the
#' core's inference (`NA` rows for aliased coefficients, as `lm()`), and
#' `formula()` and `model.frame()` say with a classed error when a
#' [torch_lm_fit()] fit has none. For a fit with rows held out for
#' validation, a model frame rebuilt from the call (`model.frame(fit,
#' na.action = )`) and `add1()`'s leave those rows out, as for
#' `lm(subset = <training rows>)`.
#'
#' @param object,formula A `torch_lm` object.
#' @param x A `torch_lm` object; for `add1()`, its `x` (a model matrix of the
#'   scope, as [stats::add1()] takes; built from the training rows when `NULL`).
#' @param parm Coefficients for `confint()`: names or indices (all by default).
#' @param level Confidence level.
#' @param complete For `vcov()`: keep rows and columns of `NA` for aliased
#'   coefficients, as `lm()` does by default.
#' @param digits Significant digits to print.
#' @param ... Unused.
#' @return `vcov()`: the covariance matrix; `confint()`: a matrix with one
#'   row per coefficient; `nobs()`: the number of training observations
#'   with non-zero weight; `as.data.frame()`: the history, one row per step.
#' @name torch_lm-methods
#' @examplesIf torchlinreg_available()
#' fit <- torch_lm(mpg ~ wt + factor(cyl), data = mtcars, seed = 1)
#' coef(fit)
#' confint(fit)
#' vcov(fit)
#' anova(fit)
#' head(hatvalues(fit))
#' head(as.data.frame(fit))
NULL

#' @rdname torch_lm-methods
#' @export
print.torch_lm <- function(x, digits = max(3L, getOption("digits") - 3L), ...) {
  cat("\nCall:\n", paste(deparse(x$call %||% quote(torch_lm_fit(...))), sep = "\n", collapse = "\n"),
      "\n\n", sep = "")
  if (length(stats::coef(x))) {
    cat("Coefficients:\n")
    print.default(format(stats::coef(x), digits = digits), print.gap = 2L, quote = FALSE)
  } else {
    cat("No coefficients\n")
  }
  cat("\n", fit_description(x), "\n\n", sep = "")
  invisible(x)
}

# How the fit ran and ended, in the Python core's words (the sentence its
# summary prints): "Fitted by adam (lr 0.1, full batch, float64, engine gram)
# in 512 steps: converged (gradient norm below 1e-08 of its start)."
fit_description <- function(x) {
  x$convergence$description %||% paste0("Stop reason: ", x$convergence$stop_reason, ".")
}

#' @rdname torch_lm-methods
#' @export
vcov.torch_lm <- function(object, complete = TRUE, ...) {
  v <- object$inference$vcov[[1]]
  if (complete) v else v[!object$aliased, !object$aliased, drop = FALSE]
}

#' @rdname torch_lm-methods
#' @export
vcov.torch_mlm <- function(object, complete = TRUE, ...) {
  # As vcov.mlm(): the residual covariance between responses (kronecker)
  # the unscaled covariance of the coefficients.
  unscaled <- object$inference$unscaled
  if (!complete) unscaled <- unscaled[!object$aliased, !object$aliased, drop = FALSE]
  kronecker(object$inference$residual_cov, unscaled, make.dimnames = TRUE)
}

#' @rdname torch_lm-methods
#' @export
confint.torch_lm <- function(object, parm, level = 0.95, ...) {
  inf <- object$inference
  est <- as.matrix(object$coefficients)
  limits <- bridge_call("confint_torch_lm", estimate = t(est), std_error = t(inf$std_error),
                        df_residual = inf$df_residual, level = level)
  pct <- paste(format(100 * c((1 - level) / 2, (1 + level) / 2), trim = TRUE,
                      scientific = FALSE, digits = 3), "%")
  several <- ncol(est) > 1
  # limits is (k, m, 2); rows go response by response, as confint.mlm names them.
  rows <- if (several) as.vector(outer(rownames(est), colnames(est), function(t, r) paste(r, t, sep = ":")))
          else rownames(est)
  ci <- cbind(as.vector(t(limits[, , 1])), as.vector(t(limits[, , 2])))
  dimnames(ci) <- list(rows, pct)
  if (missing(parm)) ci else ci[parm, , drop = FALSE]
}

#' @rdname torch_lm-methods
#' @export
nobs.torch_lm <- function(object, ...) object$inference$n_obs

#' @rdname torch_lm-methods
#' @export
formula.torch_lm <- function(x, ...) {
  if (!is.null(x$terms)) return(stats::formula(x$terms))
  abort("this fit was made by torch_lm_fit() and has no formula.",
        "input_error")
}

#' @rdname torch_lm-methods
#' @export
model.frame.torch_lm <- function(formula, ...) {
  if (!is.null(formula$model) && !length(list(...))) return(formula$model)
  if (is.null(formula$terms)) {
    abort("this fit was made by torch_lm_fit() and has no model frame.")
  }
  # As lm(): rebuilt from the call (add1() builds its scope's frame so);
  # without the rows held out for validation (by their row names), as
  # lm(subset = training rows) would rebuild it.
  frame <- NextMethod()
  valid <- formula$valid_rows
  if (!length(valid) || !is.data.frame(frame)) return(frame)
  held <- rownames(frame) %in% names(valid)
  training_frame(frame, which(!held), which(held))
}

#' @rdname torch_lm-methods
#' @param scope For `add1()`, as [stats::add1()].
#' @export
add1.torch_lm <- function(object, scope, x = NULL, ...) {
  if (!length(object$valid_rows) || !is.null(x)) return(NextMethod())
  # add1.lm() would rebuild the scope's frame from the call alone, so with the
  # rows held out for validation: the scope's design of the training rows goes in.
  if (!is.character(scope)) {
    scope <- stats::add.scope(object, stats::update.formula(object, scope))
  }
  if (!length(scope)) return(NextMethod())
  rhs <- str2lang(paste("~ . +", paste(scope, collapse = "+")))
  terms <- stats::terms(stats::update.formula(object, eval(rhs)))
  scoped <- object
  scoped$call$formula <- terms
  scoped$terms <- terms
  scoped$model <- NULL
  frame <- stats::model.frame(scoped, xlev = object$xlevels)
  if (nrow(frame) != NROW(object$residuals)) {
    abort(sprintf(paste0(
      "add1() needs the scope's variables on all %d training rows, but %d have missing values; ",
      "fit the model on the rows that have them all."),
      NROW(object$residuals), NROW(object$residuals) - nrow(frame)), "input_error")
  }
  x <- stats::model.matrix(terms, frame, contrasts.arg = object$contrasts)
  NextMethod(x = x)
}

#' @rdname torch_lm-methods
#' @param row.names,optional Unused; for the generic.
#' @export
as.data.frame.torch_lm <- function(x, row.names = NULL, optional = FALSE, ...) {
  x$history
}
