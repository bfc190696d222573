#' Methods for torch_lm fits
#'
#' The accessors of [stats::lm()] fits, for [torch_lm()] fits. They read
#' the numbers the Python core computed; `vcov()` and `confint()` give
#' `NA` rows for aliased coefficients, as `lm()` does.
#'
#' @param object,x,formula A `torch_lm` object.
#' @param parm Coefficients for `confint()`: names or indices (all by default).
#' @param level Confidence level.
#' @param complete For `vcov()`: keep rows and columns of `NA` for aliased
#'   coefficients, as `lm()` does by default.
#' @param digits Significant digits to print.
#' @param ... Unused.
#' @return `coef()`: named coefficients (a matrix for several responses);
#'   `vcov()`: the covariance matrix; `confint()`: a matrix with one row per
#'   coefficient; `fitted()`, `residuals()`: vectors (matrices for several
#'   responses), padded by `na.action = na.exclude` as in `lm()`; `nobs()`:
#'   the number of training observations with non-zero weight;
#'   `as.data.frame()`: the history, one row per step.
#' @name torch_lm-methods
#' @examplesIf torchlinreg_available()
#' fit <- torch_lm(mpg ~ wt + factor(cyl), data = mtcars, seed = 1)
#' coef(fit)
#' confint(fit)
#' vcov(fit)
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

# "Fitted by adam (lr 0.1, full batch) in 512 steps: converged."
fit_description <- function(x) {
  s <- x$settings
  conv <- x$convergence
  batches <- if (is.null(s$batch_size)) "full batch" else paste("batch size", s$batch_size)
  ending <- switch(conv$stop_reason,
                   converged = sprintf("converged (gradient norm below %g of its start)", s$tol),
                   max_epochs = "stopped at the epoch limit before converging",
                   interrupted = "interrupted",
                   conv$stop_reason)
  sprintf("Fitted by %s (lr %g, %s, %s) in %d steps: %s.", s$optimizer, s$lr, batches, s$dtype,
          conv$n_steps, ending)
}

#' @rdname torch_lm-methods
#' @export
coef.torch_lm <- function(object, ...) object$coefficients

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
  limits <- bridge_call("conf_int", estimate = t(est), std_error = t(inf$std_error),
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
fitted.torch_lm <- function(object, ...) {
  stats::napredict(object$na.action, object$fitted.values)
}

#' @rdname torch_lm-methods
#' @export
residuals.torch_lm <- function(object, ...) {
  stats::naresid(object$na.action, object$residuals)
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
  formula$model %||% abort("this fit was made by torch_lm_fit() and has no model frame.",
                           "input_error")
}

#' @rdname torch_lm-methods
#' @export
model.matrix.torch_lm <- function(object, ...) {
  if (!is.null(object[["x"]])) return(object[["x"]])
  stats::model.matrix(object$terms, stats::model.frame(object), contrasts.arg = object$contrasts)
}

#' @rdname torch_lm-methods
#' @export
weights.torch_lm <- function(object, ...) {
  stats::naresid(object$na.action, object$weights)
}

#' @rdname torch_lm-methods
#' @export
deviance.torch_lm <- function(object, ...) {
  r <- as.matrix(object$residuals)[object$train_rows, , drop = FALSE]
  w <- object$weights[object$train_rows] %||% 1
  d <- colSums(w * r^2)
  if (length(d) == 1) unname(d) else d
}

#' @rdname torch_lm-methods
#' @param row.names,optional Unused; for the generic.
#' @export
as.data.frame.torch_lm <- function(x, row.names = NULL, optional = FALSE, ...) {
  x$history
}
