#' Glance at a torch_lm fit (broom)
#'
#' [generics::glance()] for `torch_lm` fits: the columns of broom's
#' `glance()` of an `lm()` fit (`r.squared`, `adj.r.squared`, `sigma`,
#' `statistic`, `p.value`, `df`, `logLik`, `AIC`, `BIC`, `deviance`,
#' `df.residual`, `nobs`), at the gradient-descent coefficients, and how
#' the optimization went: `optimizer`, `steps` (optimizer updates),
#' `converged` and `stop_reason`. broom's `tidy()` and `augment()` for
#' `lm` fits work on `torch_lm` fits unchanged (`augment()` needs the rows,
#' so not on [torch_lm_files()] fits). A weighted fit from files takes
#' `logLik`, `AIC` and `BIC` from its moments (which keep the sum of the log
#' weights), as an unweighted one does.
#'
#' @param x A `torch_lm` fit with one response.
#' @param ... Unused.
#' @return A one-row tibble (a data frame when tibble is not installed).
#' @exportS3Method generics::glance
#' @examplesIf torchlinreg_available() && requireNamespace("generics", quietly = TRUE)
#' generics::glance(torch_lm(mpg ~ wt + hp, data = mtcars, seed = 1))
glance.torch_lm <- function(x, ...) {
  if (inherits(x, "torch_mlm")) {
    abort(paste("glance() gives one row per model; a fit with several responses has one per",
                "response: fit each response on its own."))
  }
  s <- summary(x)
  test <- nrow(s$coefficients) > 1 && !is.null(s$fstatistic)
  moments_only <- inherits(x, "torch_lm_files") && !is.null(x$weight_column) &&
    is.null(x$log_weight_sum)  # a file fit saved before sum(log(w)) was kept
  ll <- if (moments_only) NA_real_ else stats::logLik(x)
  columns <- list(
    r.squared = s$r.squared, adj.r.squared = s$adj.r.squared, sigma = s$sigma,
    # Named as broom names them (after summary.lm()'s fstatistic).
    statistic = if (test) s$fstatistic["value"] else NA_real_,
    p.value = if (test) c(value = s$f_p_value) else NA_real_,
    df = if (test) s$fstatistic["numdf"] else NA_real_,
    logLik = as.numeric(ll),
    AIC = if (moments_only) NA_real_ else stats::AIC(ll),
    BIC = if (moments_only) NA_real_ else stats::BIC(ll),
    deviance = stats::deviance(x), df.residual = x$df.residual, nobs = stats::nobs(x),
    optimizer = x$settings$optimizer, steps = x$convergence$n_steps,
    converged = x$convergence$converged, stop_reason = x$convergence$stop_reason)
  as_tidy_table(columns)
}

#' Tidy a torch_lm fit (broom)
#'
#' [generics::tidy()] for `torch_lm` fits, as broom's `tidy()` of an `lm()`
#' fit: one row per coefficient (`NA` where aliased; for several responses,
#' one row per response and coefficient that is not aliased, as broom's
#' `mlm` tidier) with `term`, `estimate`, `std.error`, `statistic` and
#' `p.value` from the core's inference, and `conf.low`, `conf.high` with
#' `conf.int = TRUE`. Works on [torch_lm_files()] fits too, and needs
#' generics, not broom.
#'
#' @param x A `torch_lm` fit.
#' @param conf.int Add confidence limits.
#' @param conf.level Their level.
#' @param ... Unused.
#' @return A tibble (a data frame when tibble is not installed).
#' @exportS3Method generics::tidy
#' @examplesIf torchlinreg_available() && requireNamespace("generics", quietly = TRUE)
#' generics::tidy(torch_lm(mpg ~ wt + hp, data = mtcars, seed = 1), conf.int = TRUE)
tidy.torch_lm <- function(x, conf.int = FALSE, conf.level = 0.95, ...) {
  estimate <- as.matrix(stats::coef(x))
  several <- inherits(x, "torch_mlm")
  keep <- if (several) !x$aliased else rep(TRUE, nrow(estimate))
  inf <- with_p_values(x$inference)
  table <- do.call(rbind, lapply(seq_len(ncol(estimate)), function(i) {
    data.frame(response = names(inf$sigma)[i], term = rownames(estimate)[keep],
               estimate = estimate[keep, i], std.error = inf$std_error[keep, i],
               statistic = inf$t_value[keep, i], p.value = inf$p_value[keep, i],
               stringsAsFactors = FALSE, row.names = NULL)
  }))
  if (!several) table$response <- NULL
  if (conf.int) {
    limits <- stats::confint(x, level = conf.level)[rep(keep, ncol(estimate)), , drop = FALSE]
    table$conf.low <- unname(limits[, 1])
    table$conf.high <- unname(limits[, 2])
  }
  as_tidy_table(table)
}

#' @rdname tidy.torch_lm
#' @description `augment()` is broom's `augment()` for `lm` fits (fitted
#'   values, residuals, hat values, Cook's distances and standardized
#'   residuals at the gradient-descent coefficients), without broom's notice
#'   that a `torch_lm` is a subclass of `lm`: it is one by design.
#' @exportS3Method generics::augment
augment.torch_lm <- function(x, ...) {
  if (!requireNamespace("broom", quietly = TRUE)) {
    abort("augment() of a torch_lm fit is broom's augment() for lm fits; install broom.",
          "package_missing")
  }
  if (inherits(x, "torch_lm_files")) rows_not_kept("augment()")
  lm_method <- utils::getS3method("augment", "lm", envir = asNamespace("broom"))
  withCallingHandlers(lm_method(x, ...), warning = function(w) {
    if (grepl("is not maintained by the broom team", conditionMessage(w), fixed = TRUE)) {
      invokeRestart("muffleWarning")
    }
  })
}

as_tidy_table <- function(columns) {
  if (requireNamespace("tibble", quietly = TRUE)) {
    tibble::as_tibble(columns)
  } else {
    as.data.frame(columns, stringsAsFactors = FALSE)
  }
}
