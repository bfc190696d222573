# Saving, loading and resuming torch_lm fits.
#
# A torch_lm keeps the Python LinearFit it came from as its attribute
# "python_fit" (a reticulate reference, without the training rows: the core
# keeps only their hash). resume = hands it back to the core; save_fit()
# writes it with LinearFit.save() and puts the R object, encoded as plain
# values (see encode_value()), into the same .npz file; load_fit() reads both
# back. Nothing in the file is ever evaluated: numbers are arrays, the rest is
# JSON, and the calls and formulas are parsed (str2lang), not run.

#' Save a fit to a file, and load it back
#'
#' `save_fit()` writes a [torch_lm()] or [torch_lm_fit()] fit to one `.npz`
#' file: the parameters, the optimizer's state, the seeded generator, the
#' history, the settings and a hash of the training data, as the Python
#' `LinearFit.save()` writes them, and beside them the R object (coefficients,
#' inference numbers, call, terms, model frame, ...). `load_fit()` reads it
#' back into a `torch_lm` that `print()`, `summary()`, `coef()`, `predict()`
#' and the other methods work on, and that `resume =` can continue.
#'
#' The file loads without executing code, unlike [readRDS()]: it is read
#' with `numpy.load(allow_pickle = FALSE)`, the numbers are arrays and
#' everything else is JSON; calls, formulas and terms are stored as text and
#' only parsed back, never evaluated, and their environments become the
#' global environment. The Python side reads the same file with
#' `torchlinreg.load(path)`.
#'
#' A fit keeps its Python state only for the R session that made it (or
#' loaded it): an object restored with [readRDS()] can be printed and
#' summarized but not saved or resumed.
#'
#' To continue a fit, call [torch_lm()] (or [torch_lm_fit()]) again with
#' the same data and `resume = fit, epochs = n`: the optimizer runs `n`
#' further steps from where it stopped, so 500 steps, `save_fit()`,
#' `load_fit()` and 500 more give the coefficients and history of 1,000
#' steps in one go, bit for bit. Options left out are taken from the fit
#' being resumed; only `epochs` and `tol` may differ.
#'
#' A fit interrupted with Ctrl-C (`stop_reason` `"interrupted"`) resumes
#' the same way.
#'
#' @param fit A `torch_lm` object from this session or from `load_fit()`.
#' @param path File name, written exactly as given (atomically: a failed save
#'   leaves the previous file whole).
#' @param trust `FALSE` (the default): refuse a file whose stored formula,
#'   terms or call use anything but arithmetic and the transformations of
#'   model formulas, since [predict()] and [compare_lm()] evaluate them;
#'   `TRUE` for a file you made yourself.
#' @return `save_fit()`: the path written, invisibly. `load_fit()`: a
#'   `torch_lm` object.
#' @export
#' @examplesIf torchlinreg_available()
#' fit <- torch_lm(dist ~ speed, data = cars, seed = 1, epochs = 200, tol = 0)
#' path <- save_fit(fit, tempfile(fileext = ".npz"))
#' again <- load_fit(path)
#' coef(again)
#' more <- torch_lm(dist ~ speed, data = cars, resume = again, epochs = 200)
#' more$convergence$n_steps
save_fit <- function(fit, path) {
  handle <- python_fit(fit)
  if (!is.character(path) || length(path) != 1 || is.na(path)) {
    abort("'path' must be one file name.", "input_error")
  }
  object <- fit
  attr(object, "python_fit") <- NULL
  tree <- list(format = "torchlinreg-r-fit", version = 1L, object = encode_value(object))
  written <- bridge_call("save_fit", fit = handle, path = path.expand(path), r_object = tree)
  invisible(written)
}

#' @rdname save_fit
#' @export
load_fit <- function(path, trust = FALSE) {
  if (!is.character(path) || length(path) != 1 || !file.exists(path)) {
    abort(sprintf("no file %s to load.", encodeString(as.character(path)[1], quote = "'")),
          "input_error")
  }
  out <- bridge_call("load_fit", path = path.expand(path))
  tree <- out$r_object
  if (is.null(tree)) {
    abort(paste0(path, " was saved from Python (fit.save()) and holds no R object; load it in ",
                 "Python with torchlinreg.load(), or fit in R and save it with save_fit()."),
          "input_error")
  }
  if (!identical(tree$format, "torchlinreg-r-fit") || as.integer(tree$version) > 1L) {
    abort(paste0(path, " holds an R object of a format this torchlinreg cannot read; ",
                 "update torchlinreg."), "input_error")
  }
  fit <- decode_value(tree$object)
  if (!isTRUE(trust)) check_safe_language(fit, path)
  # Saved before the component was renamed (its old name partially matched fit$weights).
  names(fit)[names(fit) == "weights_column"] <- "weight_column"
  # The sentence saying how the fit ended is the core's (files saved before R kept it lack it).
  fit$convergence$description <- out$description
  several <- inherits(fit, "torch_mlm")
  files <- inherits(fit, "torch_lm_files")
  fit <- unclass(fit)
  # Saved before a fit with validation rows was lm()'s fit on its training rows
  # (its rows' components then had every row, weight 0 on those held out).
  if (length(fit$valid_rows) && NROW(fit$residuals) > length(fit$train_rows)) {
    names(fit$train_rows) <- rownames(as.matrix(fit$residuals))[fit$train_rows]
    names(fit$valid_rows) <- rownames(as.matrix(fit$residuals))[fit$valid_rows]
    fit <- training_fit(fit)
  }
  new_torch_lm(fit, several = several, files = files, python_fit = out$python_fit)
}

# The live Python LinearFit behind `fit`, or a classed error saying why not.
python_fit <- function(fit) {
  if (!inherits(fit, "torch_lm")) {
    abort("expected a torch_lm fit (from torch_lm(), torch_lm_fit() or load_fit()).",
          "input_error")
  }
  handle <- attr(fit, "python_fit", exact = TRUE)
  if (is.null(handle) || !inherits(handle, "python.builtin.object") ||
      reticulate::py_is_null_xptr(handle)) {
    abort(paste0("this fit has no Python state (it was restored with readRDS(), or made in ",
                 "another R session); save fits with save_fit() and read them with load_fit() ",
                 "to keep them resumable."), "input_error")
  }
  handle
}

# --- R values as plain values (no code, nothing evaluated) -----------------------------------

# A node: list(k = kind, v = values, na = 1-based positions of NA, a = attributes).
# Vectors go to Python as numpy arrays (doubles exact), strings as lists.
encode_value <- function(x) {
  attrs <- attributes(x)
  node <- if (is.null(x)) {
    list(k = "null")
  } else if (is.environment(x)) {
    list(k = "env")
  } else if (is.language(x)) {
    list(k = "lang", v = deparse_exact(x))
  } else if (is.list(x)) {
    list(k = "list", v = lapply(unclass(x), encode_value))
  } else if (is.atomic(x) && typeof(x) %in% c("double", "integer", "logical", "character")) {
    values <- as.vector(unclass(x))
    na <- which(is.na(values) & !is.nan(values))
    if (is.character(values)) {
      values[na] <- ""
      values <- as.list(values)
    } else if (is.double(values)) {
      values <- reticulate::np_array(values, dtype = "float64")
    } else {
      values <- as.integer(values)
      values[na] <- 0L
      values <- reticulate::np_array(values, dtype = "int32")
    }
    list(k = typeof(x), v = values, na = as.list(na))
  } else {
    abort(sprintf("save_fit() cannot store a value of type '%s' (class %s).", typeof(x),
                  paste(class(x), collapse = "/")),
          "input_error")
  }
  if (!is.environment(x) && length(attrs)) {
    node$a <- list(n = as.list(names(attrs)), v = unname(lapply(attrs, encode_value)))
  }
  node
}

# Functions a formula, its terms (predvars) and a torch_lm() call may use in a
# file that load_fit() reads without trust = TRUE: what predict() and
# compare_lm() then evaluate can only be arithmetic and the transformations
# of model formulas, never system(), file access or other code.
SAFE_FUNCTIONS <- c(
  "~", "+", "-", "*", "/", "^", ":", "%in%", "%%", "%/%", "(", "==", "!=", "<", ">", "<=",
  ">=", "&", "|", "!", "&&", "||", "[", "[[", "$", "c", "list", "cbind", "I", "offset",
  "log", "log2", "log10", "log1p", "exp", "expm1", "sqrt", "abs", "sin", "cos", "tan",
  "sign", "round", "floor", "ceiling", "trunc", "pmin", "pmax", "ifelse", "poly", "polym",
  "ns", "bs", "factor", "ordered", "as.factor", "as.numeric", "as.integer", "as.double",
  "as.character", "as.logical", "relevel", "interaction", "scale", "cut", "nlevels",
  "levels", "is.na", "rev", "seq", "rep", "structure", "matrix", "lm", "torch_lm",
  "torch_lm_fit", "torch_lm_files", "cbind", "na.omit", "na.exclude", "na.fail", "na.pass",
  "contr.treatment", "contr.sum", "contr.helmert", "contr.poly", "::")
SAFE_NAMESPACES <- c("base", "stats", "splines", "torchlinreg")

# Stop unless every call stored in `x` (terms, predvars, the fit's call) uses
# only SAFE_FUNCTIONS; the error names the first other one.
check_safe_language <- function(x, path) {
  # The fit's own call is never run as it is: compare_lm() puts lm() in its
  # place and evaluates the arguments lm() takes, predict() the offset; those
  # are checked (a torch_lm_files() call's paths are never evaluated again).
  call <- x$call
  x$call <- NULL
  bad <- unsafe_function(x)
  if (is.null(bad) && is.call(call)) {
    evaluated <- c("formula", "data", "subset", "weights", "na.action", "offset", "contrasts")
    bad <- unsafe_function(as.list(call)[intersect(names(call), evaluated)])
  }
  if (!is.null(bad)) {
    abort(sprintf(paste0(
      "%s stores a call to %s(), which load_fit() does not run: a saved fit's formula, ",
      "terms and call may use only arithmetic and the transformations of model formulas. ",
      "If you made this file yourself, load it with load_fit(path, trust = TRUE)."),
      path, bad), "input_error")
  }
  invisible(TRUE)
}

unsafe_function <- function(x) {
  if (is.call(x)) {
    head <- x[[1L]]
    if (is.call(head) && identical(head[[1L]], as.name("::")) &&
        as.character(head[[2L]]) %in% SAFE_NAMESPACES) {
      head <- head[[3L]]
    }
    if (!is.name(head) || !as.character(head) %in% SAFE_FUNCTIONS) {
      return(paste(deparse(head), collapse = ""))
    }
    bad <- unsafe_arguments(x)
    if (!is.null(bad)) return(bad)
  } else if (is.list(x) || is.pairlist(x)) {
    for (part in x) {
      bad <- unsafe_function(part)
      if (!is.null(bad)) return(bad)
    }
  }
  for (name in names(attributes(x))) {
    if (name %in% c("names", "row.names", "class", "dim", "dimnames", "levels")) next
    bad <- unsafe_function(attr(x, name, exact = TRUE))
    if (!is.null(bad)) return(bad)
  }
  NULL
}

# The first unsafe function in a call's arguments (an empty argument, as in
# x[, 1], is skipped), or NULL.
unsafe_arguments <- function(x) {
  args <- as.list(x)[-1L]
  for (i in seq_along(args)) {
    if (is.symbol(args[[i]]) && !nzchar(as.character(args[[i]]))) next
    bad <- unsafe_function(args[[i]])
    if (!is.null(bad)) return(bad)
  }
  NULL
}

decode_value <- function(node) {
  kind <- node$k
  x <- switch(kind,
    null = return(NULL),
    env = return(globalenv()),
    lang = str2lang(node$v),
    list = lapply(node$v, decode_value),
    character = as.character(unlist(node$v)),
    double = as.double(node$v),
    integer = as.integer(node$v),
    logical = as.logical(as.integer(node$v)),
    abort(sprintf("unknown value kind '%s' in the file.", kind),
          "input_error"))
  if (kind %in% c("character", "double", "integer", "logical")) {
    x <- as.vector(x, kind)
    na <- as.integer(unlist(node$na))
    if (length(na)) x[na] <- NA
  }
  if (!is.null(node$a)) {
    names <- as.character(unlist(node$a$n))
    attrs <- lapply(node$a$v, decode_value)
    names(attrs) <- names
    if (kind == "list" && !"names" %in% names) x <- unname(x)
    attributes(x) <- attrs
  } else if (kind == "list") {
    x <- unname(x)
  }
  x
}

# Text that str2lang() turns back into `x` (without its attributes): the
# plain deparse when no number loses digits, else with 17 digits. (A constant
# list inside a call, as in poly()'s predvars, comes back as a call to list(),
# which evaluates to the same list.)
deparse_exact <- function(x) {
  if (!is.symbol(x)) attributes(x) <- NULL
  exact <- c("keepNA", "keepInteger", "niceNames", "digits17")
  reference <- deparse(x, width.cutoff = 500L, control = exact)
  for (control in list(c("keepNA", "keepInteger", "niceNames"), exact)) {
    text <- paste(deparse(x, width.cutoff = 500L, control = control), collapse = "\n")
    back <- tryCatch(str2lang(text), error = function(e) NULL)
    if (identical(deparse(back, width.cutoff = 500L, control = exact), reference)) break
  }
  text
}
