#' Predict from a torch_lm fit
#'
#' As [stats::predict.lm()]: the new design matrix is built from `newdata`
#' with the fit's terms, factor levels and contrasts; confidence and
#' prediction limits come from the Python core
#' (`torchlinreg.results.inference.prediction_intervals`) with the fit's stored
#' numbers.
#'
#' @param object A `torch_lm` object.
#' @param newdata A data frame (formula fits) or matrix (fits by
#'   [torch_lm_fit()], same columns as `x`); the fitted rows when omitted.
#' @param se.fit Also return standard errors of the fitted values.
#' @param scale,df As in [stats::predict.lm()]: a residual standard deviation
#'   to use instead of the fit's, with `df` degrees of freedom (`Inf`, the
#'   normal distribution, by default).
#' @param interval `"none"`, `"confidence"` or `"prediction"`.
#' @param level Confidence level.
#' @param na.action What to do with missing values in `newdata`.
#' @param pred.var The variance of each new observation, for prediction
#'   limits (by default the residual variance divided by `weights`).
#' @param weights Weights of the new observations, for prediction limits of
#'   weighted fits, or a one-sided formula evaluated in `newdata` (as in
#'   `predict.lm()`: without `newdata` and `weights`, the fit's weights, with
#'   its warning).
#' @param type `"response"`, or `"terms"` for each term's contribution, as
#'   [stats::predict.lm()] computes it (with `terms`, from the fit's `qr`).
#' @param terms With `type = "terms"`, the terms to return (all by default).
#' @param ... Passed to [stats::predict.lm()] with `type = "terms"`.
#' @return A vector of predictions, or a matrix with columns `fit`, `lwr`,
#'   `upr` when an interval is asked for; for several responses, a matrix of
#'   predictions (one column each), or a list of such `fit`/`lwr`/`upr`
#'   matrices, one per response. With `se.fit = TRUE`, a list with `fit`,
#'   `se.fit`, `df` and `residual.scale`. Without `newdata`, a fit with
#'   `na.action = na.exclude` gives `NA` on the rows it left out, as
#'   `predict.lm()`.
#' @export
#' @examplesIf torchlinreg_available()
#' fit <- torch_lm(dist ~ speed, data = cars, seed = 1)
#' predict(fit, data.frame(speed = c(10, 20)), interval = "prediction")
predict.torch_lm <- function(object, newdata, se.fit = FALSE, scale = NULL, df = Inf,
                             interval = c("none", "confidence", "prediction"), level = 0.95,
                             type = c("response", "terms"), terms = NULL,
                             na.action = stats::na.pass, pred.var = NULL, weights = 1, ...) {
  interval <- match.arg(interval)
  if (match.arg(type) == "terms") return(NextMethod())
  design <- new_design(object, if (missing(newdata)) NULL else newdata, na.action)
  if (interval == "prediction") {  # predict.lm()'s warnings and weights
    if (missing(newdata)) warning("predictions on current data refer to _future_ responses\n")
    if (missing(newdata) && missing(weights) && !is.null(object$weights)) {
      weights <- object$weights
      warning("assuming prediction variance inversely proportional to weights used for fitting\n")
    }
    if (!missing(newdata) && missing(weights) && !is.null(object$weights) && is.null(pred.var)) {
      warning("Assuming constant prediction variance even though model fit is weighted\n")
    }
    if (inherits(weights, "formula")) {
      if (length(weights) != 2L) abort("'weights' as formula should be one-sided")
      rows <- if (missing(newdata)) stats::model.frame(object) else newdata
      weights <- eval(weights[[2L]], rows, environment(weights))
    }
  }
  inf <- object$inference
  sigma <- unname(inf$sigma)
  df_residual <- inf$df_residual
  if (!is.null(scale)) {  # predict.lm(scale = , df = )
    sigma <- rep_len(as.numeric(scale), length(sigma))
    df_residual <- df
  }
  x <- design$x[, inf$core_terms, drop = FALSE]
  out <- bridge_call("predict_torch_lm", x = unname(x), coefficients = inf$core_coefficients,
                     aliased = inf$core_aliased, cov_unscaled = inf$cov_unscaled,
                     sigma = sigma, df_residual = df_residual,
                     interval = interval, level = level, pred_weights = weights,
                     center = inf$center, weight_total = inf$weight_total,
                     term_unit = inf$term_unit, cov_in_units = inf$cov_in_units,
                     center_in_units = inf$center_in_units,
                     pred_var = if (!is.null(pred.var)) as.numeric(pred.var))
  prediction <- shape_prediction(object, out, design, interval, se.fit, sigma, df_residual)
  # predict.lm() names the standard errors of the fitted rows only when weighted.
  if (se.fit && missing(newdata) && is.null(object$weights)) prediction$se.fit <- unname(prediction$se.fit)
  if (missing(newdata) && !is.null(object$na.action)) prediction <- pad_rows(object, prediction)
  prediction
}

# Predictions on the fitted rows, padded with NA where na.exclude left rows out.
pad_rows <- function(object, prediction) {
  pad <- function(p) if (is.list(p)) lapply(p, pad) else stats::napredict(object$na.action, p)
  if (!is.list(prediction) || is.null(prediction$se.fit)) return(pad(prediction))
  prediction$fit <- pad(prediction$fit)
  prediction$se.fit <- pad(prediction$se.fit)
  prediction
}

# The design matrix (all model.matrix() columns) and offset for newdata,
# built as predict.lm() builds them.
new_design <- function(object, newdata, na.action) {
  if (is.null(newdata)) {
    return(list(x = stats::model.matrix(object), offset = object$offset %||% 0))
  }
  if (is.null(object$terms)) {
    x <- as.matrix(newdata)
    if (object$has_intercept && !"(Intercept)" %in% colnames(x)) x <- cbind("(Intercept)" = 1, x)
    if (is.null(colnames(x))) colnames(x) <- colnames(object[["x"]])
    return(list(x = x, offset = 0))
  }
  tt <- stats::terms(object)
  Terms <- stats::delete.response(tt)
  m <- stats::model.frame(Terms, newdata, na.action = na.action, xlev = object$xlevels)
  if (!is.null(cl <- attr(Terms, "dataClasses"))) stats::.checkMFClasses(cl, m)
  x <- stats::model.matrix(Terms, m, contrasts.arg = object$contrasts)
  offset <- rep(0, nrow(x))
  if (!is.null(off.num <- attr(tt, "offset"))) {
    for (i in off.num) offset <- offset + eval(attr(tt, "variables")[[i + 1]], newdata)
  }
  if (!is.null(object$call$offset)) offset <- offset + eval(object$call$offset, newdata)
  list(x = x, offset = offset)
}

shape_prediction <- function(object, out, design, interval, se.fit, sigma, df) {
  responses <- names(object$inference$sigma)
  rows <- rownames(design$x)
  name <- function(m, shift = design$offset) {
    m <- m + shift
    dimnames(m) <- list(rows, responses)
    m
  }
  fit <- name(out$fit)
  se <- name(out$se_fit, 0)
  one <- length(responses) == 1L
  if (interval != "none") {
    lwr <- name(out$lwr)
    upr <- name(out$upr)
    limits <- lapply(stats::setNames(seq_along(responses), responses), function(i) {
      cbind(fit = fit[, i], lwr = lwr[, i], upr = upr[, i])
    })
    fit <- if (one) limits[[1]] else limits
  } else {
    fit <- if (one) fit[, 1] else fit
  }
  if (!se.fit) return(fit)
  list(fit = fit, se.fit = if (one) se[, 1] else se, df = df,
       residual.scale = if (one) sigma else stats::setNames(sigma, responses))
}
