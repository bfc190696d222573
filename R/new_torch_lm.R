# The torch_lm object: its constructor and validator, and its numbers from
# the bridge's result.

# A torch_lm from its components (a list, as lm() builds one): `several`
# for several responses, `files` for a fit from files (no rows kept);
# `python_fit` is the live Python LinearFit, kept for resume = and save_fit().
new_torch_lm <- function(x, several = FALSE, files = FALSE, python_fit = NULL) {
  stopifnot(is.list(x))
  class(x) <- c(if (files) "torch_lm_files", if (several) "torch_mlm", "torch_lm")
  attr(x, "python_fit") <- python_fit
  validate_torch_lm(x)
}

# `x` if it is a well-formed torch_lm, else a classed error naming what is wrong.
validate_torch_lm <- function(x) {
  needed <- c("coefficients", "rank", "df.residual", "aliased", "history", "convergence",
              "settings", "inference", "call")
  if (!inherits(x, "torch_lm_files")) {
    needed <- c(needed, "residuals", "fitted.values", "train_rows", "valid_rows")
  }
  missing <- setdiff(needed, names(x))
  if (length(missing)) {
    invalid_fit(sprintf("it has no %s", paste(missing, collapse = ", ")))
  }
  terms <- rownames(as.matrix(x$coefficients))
  if (!identical(names(x$aliased), terms)) {
    invalid_fit("its 'aliased' flags do not name its coefficients")
  }
  several <- is.matrix(x$coefficients) && ncol(x$coefficients) > 1
  if (several != inherits(x, "torch_mlm")) {
    invalid_fit("its class and the number of responses of its coefficients disagree")
  }
  if (!is.null(x$residuals) && NROW(x$residuals) != NROW(x$fitted.values)) {
    invalid_fit("its residuals and fitted values have different numbers of rows")
  }
  x
}

invalid_fit <- function(what) {
  abort(paste0("not a valid torch_lm fit: ", what, "."), c("invalid_fit", "input_error"))
}

torch_lm_parts <- function(out, x, y, w, has_intercept) {
  several <- is.matrix(y) && ncol(y) > 1
  terms <- unlist(out$term_names)
  # lm() orders coefficients as model.matrix() columns.
  order <- match(colnames(x), terms)
  responses <- unlist(out$response_names)
  coefficients <- t(out$coefficients)[order, , drop = FALSE]
  dimnames(coefficients) <- list(colnames(x), responses)
  aliased <- stats::setNames(as.logical(out$aliased)[order], colnames(x))
  inference <- reorder_inference(out$inference, order, colnames(x), responses)
  inference$core_terms <- terms
  inference$core_aliased <- as.logical(out$aliased)
  inference$core_coefficients <- out$coefficients
  kept <- terms[!inference$core_aliased]
  unscaled <- matrix(NA_real_, length(order), length(order), dimnames = list(colnames(x), colnames(x)))
  unscaled[kept, kept] <- matrix(out$inference$cov_unscaled, length(kept))
  inference$unscaled <- unscaled
  fitted <- out$fitted_values
  residuals <- out$residuals
  row_names <- rownames(x) %||% as.character(seq_len(nrow(x)))
  dimnames(fitted) <- dimnames(residuals) <- list(row_names, responses)
  z <- list(
    coefficients = if (several) coefficients else column(coefficients),
    residuals = if (several) residuals else column(residuals),
    fitted.values = if (several) fitted else column(fitted),
    rank = inference$rank,
    df.residual = inference$df_residual,
    weights = w,
    aliased = aliased,
    assign = attr(x, "assign"),
    has_intercept = has_intercept,
    history = history_frame(out$history),
    convergence = lapply(out$convergence, identity),
    settings = out$settings,
    train_rows = as.integer(out$train_index) + 1L,
    valid_rows = as.integer(out$valid_index) + 1L,
    inference = inference
  )
  z
}

# The first column of a matrix as a vector named by its row names.
column <- function(m) stats::setNames(m[, 1], rownames(m))

# Python's numbers in model.matrix() column order, with R names.
reorder_inference <- function(inf, order, terms, responses) {
  by_term <- function(a) {
    a <- t(a)[order, , drop = FALSE]
    dimnames(a) <- list(terms, responses)
    a
  }
  inf$std_error <- by_term(inf$std_error)
  inf$t_value <- by_term(inf$t_value)
  inf$p_value <- by_term(inf$p_value)
  # cov_unscaled stays in the core's order (the intercept first), over the
  # terms that are not aliased; predict() hands it back as it came.
  for (name in c("sigma", "r_squared", "adj_r_squared", "f_statistic", "f_p_value")) {
    inf[[name]] <- stats::setNames(as.vector(inf[[name]]), responses)
  }
  inf$vcov <- lapply(seq_along(responses), function(i) {
    v <- inf$vcov[i, , , drop = TRUE]
    v <- matrix(v, length(terms))[order, order, drop = FALSE]
    dimnames(v) <- list(terms, terms)
    v
  })
  names(inf$vcov) <- responses
  dimnames(inf$residual_cov) <- list(responses, responses)
  inf
}

history_frame <- function(history) {
  columns <- lapply(history, as.vector)
  as.data.frame(columns, check.names = FALSE, optional = TRUE)
}
