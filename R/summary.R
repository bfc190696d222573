#' Summarize a torch_lm fit
#'
#' The table of [stats::summary.lm()] — estimates, standard errors, t values
#' and p values — with the residual standard error, R², adjusted R² and the
#' F statistic, all evaluated at the coefficients the optimizer found, on the
#' training rows. These numbers are computed once, by the Python core
#' (`LinearFit.inference`); this function only arranges them. The printout
#' adds the optimizer, the number of steps and how the fit ended.
#'
#' @param object A `torch_lm` object.
#' @param correlation,symbolic.cor As [stats::summary.lm()]: also give (and
#'   print) the correlation matrix of the estimated coefficients, symbolically
#'   with `symbolic.cor = TRUE`.
#' @param x A `summary.torch_lm` object.
#' @param digits Significant digits to print.
#' @param signif.stars Print significance stars, as `print.summary.lm()`.
#' @param ... Passed to [stats::printCoefmat()] when printing.
#' @return An object of class `summary.torch_lm` with the components of
#'   `summary.lm` (`call`, `terms`, `residuals`, `coefficients`, `aliased`,
#'   `sigma`, `df`, `r.squared`, `adj.r.squared`, `fstatistic`,
#'   `cov.unscaled`, `na.action`, and `correlation` and `symbolic.cor` when
#'   asked for) plus `f_p_value`, `convergence`,
#'   `settings` and `description`. For several responses, a list of these,
#'   one per response.
#' @export
#' @examplesIf torchlinreg_available()
#' summary(torch_lm(Sepal.Length ~ Petal.Length + Species, data = iris, seed = 1))
summary.torch_lm <- function(object, correlation = FALSE, symbolic.cor = FALSE, ...) {
  summarize_response(object, 1L, correlation, symbolic.cor)
}

#' @rdname summary.torch_lm
#' @export
summary.torch_mlm <- function(object, correlation = FALSE, symbolic.cor = FALSE, ...) {
  responses <- colnames(object$coefficients)
  out <- lapply(seq_along(responses), function(i) {
    summarize_response(object, i, correlation, symbolic.cor)
  })
  names(out) <- paste("Response", responses)
  class(out) <- c("summary.torch_mlm", "listof")
  out
}

summarize_response <- function(object, i, correlation = FALSE, symbolic.cor = FALSE) {
  inf <- with_p_values(object$inference)
  aliased <- object$aliased
  est <- as.matrix(object$coefficients)[, i]
  coefficients <- cbind(Estimate = est, "Std. Error" = inf$std_error[, i],
                        "t value" = inf$t_value[, i], "Pr(>|t|)" = inf$p_value[, i])
  r <- as.matrix(object$residuals)[, i]
  w <- object$weights
  if (!is.null(w)) r <- (sqrt(w) * r)[w != 0]
  numdf <- inf$f_numdf
  fstatistic <- if (numdf > 0) {
    c(value = unname(inf$f_statistic[i]), numdf = numdf, dendf = inf$f_dendf)
  }
  kept <- !aliased
  # As summary.lm(): a model of the intercept alone (or of nothing) explains nothing.
  explains <- inf$rank > object$has_intercept
  unscaled <- inf$unscaled[kept, kept, drop = FALSE]
  structure(c(list(
    call = object$call, terms = object$terms, residuals = r, weights = w,
    coefficients = coefficients[kept, , drop = FALSE], aliased = aliased,
    sigma = unname(inf$sigma[i]),
    df = c(inf$rank, inf$df_residual, length(aliased)),
    r.squared = if (explains) unname(inf$r_squared[i]) else 0,
    adj.r.squared = if (explains) unname(inf$adj_r_squared[i]) else 0,
    fstatistic = fstatistic, f_p_value = unname(inf$f_p_value[i]),
    cov.unscaled = unscaled,
    na.action = object$na.action, convergence = object$convergence,
    settings = object$settings, description = fit_description(object),
    n_valid = length(object$valid_rows)),
    # as summary.lm(): the coefficients' correlations, from (X'WX)^-1
    if (correlation) {
      list(correlation = unscaled / outer(sqrt(diag(unscaled)), sqrt(diag(unscaled))),
           symbolic.cor = symbolic.cor)
    }
  ), class = "summary.torch_lm")
}

#' @rdname summary.torch_lm
#' @export
print.summary.torch_lm <- function(x, digits = max(3L, getOption("digits") - 3L),
                                   symbolic.cor = x$symbolic.cor,
                                   signif.stars = getOption("show.signif.stars"), ...) {
  cat("\nCall:\n", paste(deparse(x$call %||% quote(torch_lm_fit(...))), sep = "\n",
                         collapse = "\n"), "\n\n", sep = "")
  print_residuals(x, digits)
  if (length(x$aliased) == 0L) {
    cat("\nNo Coefficients\n")
  } else {
    nsingular <- x$df[3L] - x$df[1L]
    if (nsingular) {
      cat("\nCoefficients: (", nsingular, " not defined because of singularities)\n", sep = "")
    } else {
      cat("\nCoefficients:\n")
    }
    coefs <- matrix(NA_real_, length(x$aliased), 4L,
                    dimnames = list(names(x$aliased), colnames(x$coefficients)))
    coefs[!x$aliased, ] <- x$coefficients
    stats::printCoefmat(coefs, digits = digits, signif.stars = signif.stars, na.print = "NA", ...)
  }
  cat("\nResidual standard error:", format(signif(x$sigma, digits)), "on", x$df[2L],
      "degrees of freedom\n")
  mess <- stats::naprint(x$na.action)
  if (nzchar(mess)) cat("  (", mess, ")\n", sep = "")
  if (x$n_valid > 0) cat("  (", x$n_valid, " rows held out for validation)\n", sep = "")
  if (!is.null(x$fstatistic)) {
    cat("Multiple R-squared: ", formatC(x$r.squared, digits = digits))
    cat(",\tAdjusted R-squared: ", formatC(x$adj.r.squared, digits = digits),
        "\nF-statistic:", formatC(x$fstatistic[1L], digits = digits), "on", x$fstatistic[2L],
        "and", x$fstatistic[3L], "DF,  p-value:", format.pval(x$f_p_value, digits = digits))
    cat("\n")
  }
  print_correlation(x$correlation, symbolic.cor, digits)
  cat("\n", x$description, "\n\n", sep = "")
  invisible(x)
}

# print.summary.lm()'s correlation block.
print_correlation <- function(correl, symbolic.cor, digits) {
  p <- NCOL(correl)
  if (is.null(correl) || p <= 1L) return(invisible(NULL))
  cat("\nCorrelation of Coefficients:\n")
  if (is.logical(symbolic.cor) && isTRUE(symbolic.cor)) {
    print(stats::symnum(correl, abbr.colnames = NULL))
  } else {
    correl <- format(round(correl, 2), nsmall = 2, digits = digits)
    correl[!lower.tri(correl)] <- ""
    print(correl[-1, -p, drop = FALSE], quote = FALSE)
  }
  invisible(NULL)
}

print_residuals <- function(x, digits) {
  resid <- x$residuals
  if (is.null(resid)) {
    cat("Residuals: not kept (a fit from files keeps only the moments of its rows)\n")
    return(invisible(NULL))
  }
  rdf <- x$df[2L]
  weighted <- !is.null(x$weights) && diff(range(x$weights)) != 0
  cat(if (weighted) "Weighted ", "Residuals:\n", sep = "")
  if (rdf > 5L) {
    q <- zapsmall(stats::quantile(resid), digits + 1L)
    print(stats::setNames(q, c("Min", "1Q", "Median", "3Q", "Max")), digits = digits)
  } else if (rdf > 0L) {
    print(resid, digits = digits)
  } else {
    cat("ALL", x$df[1L], "residuals are 0: no residual degrees of freedom!\n")
  }
}
