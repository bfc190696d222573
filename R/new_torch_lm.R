# The torch_lm object: its constructor and validator, and its numbers from
# the bridge's result.

# A torch_lm from its components (a list, as lm() builds one): `several`
# for several responses, `files` for a fit from files (no rows kept);
# `python_fit` is the live Python LinearFit, kept for resume = and save_fit().
new_torch_lm <- function(x, several = FALSE, files = FALSE, python_fit = NULL) {
  stopifnot(is.list(x))
  # As lm(): components that are NULL (no weights, offset, na.action) are absent,
  # and lm()'s come first, in lm()'s order.
  x <- x[!vapply(x, is.null, logical(1))]
  x <- x[c(intersect(LM_COMPONENTS, names(x)), setdiff(names(x), LM_COMPONENTS))]
  # Every lm() method works on it; it has its own only where the gradient
  # descent adds something (see R/methods.R).
  class(x) <- c(if (files) "torch_lm_files", if (several) "torch_mlm", "torch_lm",
                if (several) "mlm", "lm")
  attr(x, "python_fit") <- python_fit
  validate_torch_lm(x)
}

LM_COMPONENTS <- c("coefficients", "residuals", "effects", "rank", "fitted.values", "assign", "qr",
                   "df.residual", "weights", "prior.weights", "na.action", "offset", "contrasts",
                   "xlevels", "call", "terms", "model")

# `x` if it is a well-formed torch_lm, else a classed error naming what is wrong.
validate_torch_lm <- function(x) {
  needed <- c("coefficients", "rank", "df.residual", "aliased", "history",
              "convergence", "settings", "inference", "call")
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
  if (!is.null(x$residuals) && NROW(x$residuals) != length(x$train_rows)) {
    invalid_fit("its residuals are not one per training row")
  }
  if (!is.null(x$qr) && !inherits(x$qr, "qr")) invalid_fit("its 'qr' is not of class \"qr\"")
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
  # Aliased: as Python found them, or left out of the design by R's QR (NA order).
  aliased <- stats::setNames(as.logical(out$aliased)[order] %in% c(TRUE, NA), colnames(x))
  coefficients[aliased, ] <- NA_real_  # Python's NaN; lm()'s NA
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
  # lm()'s components in lm()'s order, then the optimization's.
  list(
    coefficients = if (several) coefficients else column(coefficients),
    residuals = if (several) residuals else column(residuals),
    rank = inference$rank,
    fitted.values = if (several) fitted else column(fitted),
    assign = attr(x, "assign"),
    df.residual = inference$df_residual,
    weights = w,
    prior.weights = w,
    aliased = aliased,
    has_intercept = has_intercept,
    history = history_frame(out$history),
    convergence = lapply(out$convergence, identity),
    settings = out$settings,
    # named only when rows are held out (names cost time on large data, and
    # without a split every row is a training row)
    train_rows = row_positions(out$train_index, if (length(out$valid_index)) row_names),
    valid_rows = row_positions(out$valid_index, row_names),
    inference = inference
  )
}

# A fit with rows held out for validation as lm(subset = training rows)
# makes it: the components of one value per row (residuals, fitted values,
# weights, offset, the model frame, torch_lm_fit()'s x) keep the training rows,
# in their order, and the frame's na.action is renumbered over the rows left.
# `z` is the list of components (the whole fit's rows, as the bridge gave
# them); a fit without held-out rows comes back as it is.
training_fit <- function(z) {
  if (!length(z$valid_rows)) return(z)
  train <- z$train_rows
  for (name in c("residuals", "fitted.values", "prior.weights", "offset", "x")) {
    if (!is.null(z[[name]])) z[[name]] <- row_subset(z[[name]], train)
  }
  z$weights <- z$prior.weights
  if (!is.null(z$model)) z$model <- training_frame(z$model, train, z$valid_rows)
  z$na.action <- renumber_na_action(z$na.action, z$valid_rows, length(train) + length(z$valid_rows))
  z
}

# The rows `rows` of a vector (keeping its names) or of a matrix.
row_subset <- function(v, rows) {
  if (is.null(v)) return(NULL)
  if (is.matrix(v)) v[rows, , drop = FALSE] else v[rows]
}

# The model frame's rows `train`, with its terms, and its na.action renumbered
# as model.frame() would have numbered it without the rows `valid`.
training_frame <- function(mf, train, valid) {
  out <- mf[train, , drop = FALSE]  # `[` keeps the terms and (stale) na.action
  attr(out, "na.action") <- renumber_na_action(attr(mf, "na.action"), valid, nrow(mf))
  out
}

# An na.action (positions, among the rows before it dropped any, of those it
# dropped; `n_kept` rows kept) renumbered over those rows less the rows at
# positions `valid` of the rows it kept: what lm() reports when `subset`
# leaves `valid` out.
renumber_na_action <- function(na, valid, n_kept) {
  if (is.null(na)) return(NULL)
  dropped <- as.integer(na)
  before <- seq_len(n_kept + length(dropped))
  kept <- setdiff(before, dropped)
  left <- setdiff(before, kept[valid])
  na[] <- match(dropped, left)
  na
}

# The QR decomposition lm.wfit() takes: of sqrt(w) * x on the rows of
# non-zero weight, by LINPACK with tolerance 1e-7, as class "qr".
design_qr <- function(x, w) {
  # Before the fit, only of inputs Python would accept: it says what is wrong
  # with the others (negative weights, missing values) better than qr() does.
  if (!all(is.finite(x)) || (!is.null(w) && !(is.numeric(w) && all(is.finite(w)) && all(w >= 0)))) {
    return(NULL)
  }
  if (!is.null(w)) {
    keep <- w != 0
    x <- x[keep, , drop = FALSE] * sqrt(w[keep])
  }
  q <- qr.default(x, tol = 1e-07, LAPACK = FALSE)
  structure(list(qr = q$qr, qraux = q$qraux, pivot = q$pivot, tol = 1e-07, rank = q$rank),
            class = "qr")
}

# lm()'s `qr` and `effects` for the fit: the effects are Q'y as in lm(),
# except the first `rank`, which are those of the fitted values (R times the
# gradient-descent coefficients), so that anova()'s sums of squares are
# the fit's. Beyond the rank Q'y equals Q' times the residuals at any
# coefficients. Named as lm.fit() names them.
lm_decomposition <- function(q, x, y, fitted, offset, w) {
  keep <- if (is.null(w)) rep(TRUE, NROW(y)) else w != 0
  scale <- if (is.null(w)) 1 else sqrt(w[keep])
  shift <- if (is.null(offset)) 0 else offset[keep]
  effects <- qr.qty(q, scale * (as.matrix(y)[keep, , drop = FALSE] - shift))
  ranked <- seq_len(q$rank)
  if (q$rank > 0) {
    model <- qr.qty(q, scale * (as.matrix(fitted)[keep, , drop = FALSE] - shift))
    effects[ranked, ] <- model[ranked, ]
  }
  labels <- c(colnames(x)[q$pivot[ranked]], rep.int("", nrow(effects) - q$rank))
  if (is.matrix(y)) {
    dimnames(effects) <- list(labels, colnames(y))
  } else {
    effects <- stats::setNames(effects[, 1], labels)
  }
  list(effects = effects, qr = q)
}

# The core's 0-based row indices as R positions, named by the rows' names.
row_positions <- function(index, row_names) {
  rows <- as.integer(index) + 1L
  stats::setNames(rows, row_names[rows])
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
  # cov_unscaled stays in the core's order (the intercept first), over the
  # terms that are not aliased; predict() hands it back as it came.
  for (name in c("sigma", "r_squared", "adj_r_squared", "f_statistic")) {
    inf[[name]] <- stats::setNames(as.vector(inf[[name]]), responses)
  }
  inf$vcov <- lapply(seq_along(responses), function(i) {
    v <- inf$vcov[i, , , drop = TRUE]
    v <- matrix(v, sum(!is.na(order)))[order, order, drop = FALSE]
    dimnames(v) <- list(terms, terms)
    v
  })
  names(inf$vcov) <- responses
  dimnames(inf$residual_cov) <- list(responses, responses)
  inf
}

# The inference with its p-values, which Python computes when a summary first asks: a
# fit needs none, and they would cost the fit a second import in Python (scipy.special).
# Objects saved with them keep theirs.
with_p_values <- function(inf) {
  if (!is.null(inf$p_value)) return(inf)
  p <- bridge_call("p_values_torch_lm", t_value = unname(inf$t_value), df_residual = inf$df_residual,
                   f_statistic = unname(inf$f_statistic), f_numdf = inf$f_numdf,
                   f_dendf = inf$f_dendf)
  inf$p_value <- matrix(as.vector(p$p_value), nrow(inf$t_value), ncol(inf$t_value),
                        dimnames = dimnames(inf$t_value))
  missing <- is.na(inf$t_value)  # aliased terms: NaN from Python, NA where R's QR left them
  inf$p_value[missing] <- inf$t_value[missing]
  inf$f_p_value <- stats::setNames(as.vector(p$f_p_value), names(inf$f_statistic))
  inf
}

history_frame <- function(history) {
  columns <- lapply(history, as.vector)
  as.data.frame(columns, check.names = FALSE, optional = TRUE)
}
