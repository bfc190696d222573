#' Compare a torch_lm fit with lm()
#'
#' Fits [stats::lm()] on the same data — the same formula, subset, weights,
#' offset, contrasts and missing-value handling, and only the training rows
#' when rows were held out for validation — and sets the two side by side,
#' with the exact least-squares solution (float64 QR, by the Python core) on
#' the same rows. The table is the one Python's
#' `torchlinreg.interop.compare.compare_lm()` returns, built by the same
#' code, with R's own `lm()` as the reference.
#'
#' @param fit A `torch_lm` object made by [torch_lm()] (not by
#'   [torch_lm_files()], which does not keep the rows `lm()` needs).
#' @return A data frame, one row per response and coefficient: `response`,
#'   `term`, `estimate` (the gradient descent's), `lm`, `exact`;
#'   `rel_diff_lm` and `rel_diff_exact` (`|estimate - lm| / |lm|`, and the
#'   same from `exact`); `diff_in_se` (`|estimate - lm|` in units of
#'   `lm()`'s standard error); `std_error` (the fit's), `lm_std_error` and
#'   `se_rel_diff` (`|std_error - lm_std_error| / lm_std_error`). `NA`
#'   where a coefficient is aliased. The `lm()` fit is attached as
#'   attribute `"lm"`.
#' @export
#' @examplesIf torchlinreg_available()
#' compare_lm(torch_lm(mpg ~ wt * hp, data = mtcars, seed = 1))
compare_lm <- function(fit) {
  if (inherits(fit, "torch_lm_files")) {
    abort(paste("compare_lm() refits lm() on the rows, which a torch_lm_files() fit does not keep;",
                "read the files into a data frame and call lm() on it (summary(fit) already",
                "has lm()'s standard errors, R-squared and F from the files' moments)."),
          c("rows_not_kept", "input_error"))
  }
  if (is.null(fit$call) || is.null(fit$terms)) {
    abort("compare_lm() needs a fit made by torch_lm() (with a formula).",
          "input_error")
  }
  reference <- refit_lm(fit)
  terms <- names(fit$aliased)
  several <- inherits(fit, "torch_mlm")
  responses <- if (several) colnames(fit$coefficients) else deparse1(stats::formula(fit)[[2L]])
  estimate <- matrix(stats::coef(fit), ncol = length(responses))
  lm_est <- as.matrix(stats::coef(reference))
  lm_se <- do.call(cbind, lapply(lm_summaries(reference), function(s) {
    se <- stats::setNames(rep(NA_real_, nrow(lm_est)), rownames(lm_est))
    se[rownames(s$coefficients)] <- s$coefficients[, "Std. Error"]
    se
  }))
  x <- stats::model.matrix(reference)
  out <- bridge_call(
    "compare_lm", x = unname(x), y = unname(as.matrix(stats::model.response(reference$model))),
    estimate = t(estimate), std_error = t(unname(fit$inference$std_error)),
    lm_estimate = t(unname(lm_est)), lm_std_error = t(unname(lm_se)),
    term_names = as.list(terms), response_names = as.list(responses),
    aliased = unname(fit$aliased), weights = stats::weights(reference),
    offset = stats::model.offset(reference$model),
    intercept_column = if ("(Intercept)" %in% terms) match("(Intercept)", colnames(x)) - 1L)
  # Python's NaN (aliased, or 0/0) is R's NA.
  table <- as.data.frame(lapply(out, function(column) {
    column <- unlist(column)
    if (is.double(column)) column[is.nan(column)] <- NA_real_
    column
  }), stringsAsFactors = FALSE, optional = TRUE)
  attr(table, "lm") <- reference
  table
}

lm_summaries <- function(reference) {
  s <- summary(reference)
  if (inherits(reference, "mlm")) s else list(s)
}

# lm() from the torch_lm() call; training rows only when some were held out.
refit_lm <- function(fit) {
  call <- fit$call
  keep <- c("", "formula", "data", "subset", "weights", "na.action", "offset", "contrasts")
  call <- call[names(call) %in% keep | seq_along(call) == 1L]
  call[[1L]] <- quote(stats::lm)
  env <- environment(fit$terms) %||% parent.frame()
  if (length(fit$valid_rows) > 0) {
    rows <- rownames(fit$model)  # the training rows
    if (!is.null(call$data)) {
      data <- eval(call$data, env)
      call$data <- data[rows, , drop = FALSE]
      call$subset <- NULL
    } else {
      call$subset <- as.integer(rows)
    }
  }
  eval(call, env)
}
