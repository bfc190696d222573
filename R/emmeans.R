#' emmeans for fits with rows held out for validation
#'
#' emmeans rebuilds the data of a fit from its call (`call$data`, then
#' `call$subset` and the fit's `na.action`), which for a [torch_lm()] fit
#' with `validation` would bring back the rows held out, and mis-align the
#' rows `na.action` drops. This method gives emmeans the fit's own training
#' rows of the data instead (those of its model frame), so the reference
#' grid, its covariate means and weights are those of
#' `lm(subset = <training rows>)`. Fits without held-out rows are `lm`'s.
#'
#' @param object A `torch_lm` fit.
#' @param data As emmeans' `data` argument: when given, it is used as given.
#' @param ... Passed on to emmeans' `recover_data()`.
#' @keywords internal
#' @exportS3Method emmeans::recover_data
recover_data.torch_lm <- function(object, data = NULL, ...) {
  frame <- object$model
  trms <- stats::delete.response(stats::terms(object))
  as_lm <- function() {  # what emmeans does for an lm (emmeans calls methods directly)
    emmeans::recover_data(object$call, trms, object$na.action, data = data, frame = frame, ...)
  }
  if (!is.null(data) || !length(object$valid_rows) || is.null(frame) || is.null(object$call$data)) {
    return(as_lm())
  }
  data <- eval(object$call$data, environment(stats::formula(object)))
  if (!is.data.frame(data) || !all(rownames(frame) %in% rownames(data))) {
    data <- NULL
    return(as_lm())
  }
  fcall <- object$call
  fcall$subset <- NULL  # the rows below are already the subset's, less the held-out rows
  emmeans::recover_data(fcall, trms, NULL, data = data[rownames(frame), , drop = FALSE],
                        frame = frame, ...)
}
