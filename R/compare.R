#' Compare a torch_lm fit with lm()
#'
#' Fits [stats::lm()] on the same data — the same formula, subset, weights,
#' offset, contrasts and missing-value handling, and only the training rows
#' when rows were held out for validation — and sets the two side by side.
#'
#' @param fit A `torch_lm` object made by [torch_lm()] (not by
#'   [torch_lm_files()], which does not keep the rows `lm()` needs).
#' @return A data frame, one row per coefficient (and response): `response`
#'   (several responses only), `term`, `torch`, `lm`, `abs_diff`,
#'   `rel_diff` (relative to `|lm|`), then `torch_se`, `lm_se`,
#'   `se_abs_diff`, `se_rel_diff` for the standard errors. The `lm()` fit is
#'   attached as attribute `"lm"`.
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
  responses <- names(fit$inference$sigma)
  torch_est <- matrix(stats::coef(fit), ncol = length(responses),
                      dimnames = list(names(fit$aliased), responses))
  lm_est <- as.matrix(stats::coef(reference))
  lm_se <- do.call(cbind, lapply(lm_summaries(reference), function(s) {
    se <- stats::setNames(rep(NA_real_, nrow(lm_est)), rownames(lm_est))
    se[rownames(s$coefficients)] <- s$coefficients[, "Std. Error"]
    se
  }))
  torch_se <- fit$inference$std_error
  table <- data.frame(
    response = rep(colnames(torch_est), each = nrow(torch_est)),
    term = rep(rownames(torch_est), ncol(torch_est)),
    torch = as.vector(torch_est), lm = as.vector(lm_est),
    torch_se = as.vector(torch_se), lm_se = as.vector(lm_se),
    stringsAsFactors = FALSE)
  table$abs_diff <- abs(table$torch - table$lm)
  table$rel_diff <- table$abs_diff / abs(table$lm)
  table$se_abs_diff <- abs(table$torch_se - table$lm_se)
  table$se_rel_diff <- table$se_abs_diff / abs(table$lm_se)
  columns <- c("response", "term", "torch", "lm", "abs_diff", "rel_diff",
               "torch_se", "lm_se", "se_abs_diff", "se_rel_diff")
  if (ncol(torch_est) == 1) columns <- columns[-1]
  table <- table[columns]
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
    rows <- rownames(fit$model)[fit$train_rows]
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
