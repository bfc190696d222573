# Finding Python, reaching the bridge module, and turning Python errors
# into R conditions.

.state <- new.env(parent = emptyenv())

# The virtualenv install_torchlinreg() creates.
ENVNAME <- "r-torchlinreg"

#' Which Python torchlinreg would use, and why
#'
#' The order is: the `TORCHLINREG_PYTHON` environment variable, then
#' `RETICULATE_PYTHON`, then the `.venv` of a torchlinreg source checkout
#' found by walking up from the working directory (made by `make`), then
#' the virtualenv `r-torchlinreg` made by [install_torchlinreg()].
#' Once Python has started in this R session it cannot change, so that
#' Python wins.
#'
#' @return A list with `python` (a path, or `NULL` when nothing was
#'   found), `source` (which rule chose it) and `reason` (a sentence).
#' @keywords internal
#' @noRd
find_python <- function() {
  if (reticulate::py_available(initialize = FALSE)) {
    if (!is.null(.state$found)) return(.state$found)
    return(list(python = reticulate::py_config()$python, source = "running",
                reason = "Python is already running in this R session"))
  }
  for (var in c("TORCHLINREG_PYTHON", "RETICULATE_PYTHON")) {
    value <- Sys.getenv(var, "")
    if (nzchar(value)) {
      return(list(python = value, source = var,
                  reason = sprintf("the environment variable %s is set", var)))
    }
  }
  repo <- find_repository()
  if (!is.null(repo)) {
    return(list(python = file.path(repo, ".venv", "bin", "python"), source = "repository",
                reason = sprintf("the source checkout %s has a .venv", repo)))
  }
  venv <- virtualenv_python(ENVNAME)
  if (!is.null(venv)) {
    return(list(python = venv, source = "virtualenv",
                reason = sprintf("the virtualenv '%s' exists", ENVNAME)))
  }
  list(python = NULL, source = "none", reason = "no Python with torchlinreg was found")
}

# The torchlinreg source checkout holding the working directory (a
# directory with a torchlinreg DESCRIPTION and .venv/bin/python), or NULL.
find_repository <- function(start = getwd(), need_venv = TRUE) {
  dir <- normalizePath(start, mustWork = FALSE)
  repeat {
    description <- file.path(dir, "DESCRIPTION")
    if (file.exists(description) &&
        any(grepl("^Package:[[:space:]]*torchlinreg[[:space:]]*$", readLines(description, warn = FALSE))) &&
        file.exists(file.path(dir, if (need_venv) ".venv/bin/python" else "pyproject.toml"))) {
      return(dir)
    }
    parent <- dirname(dir)
    if (identical(parent, dir)) return(NULL)
    dir <- parent
  }
}

virtualenv_python <- function(envname) {
  exists <- tryCatch(reticulate::virtualenv_exists(envname), error = function(e) FALSE)
  if (!isTRUE(exists)) return(NULL)
  tryCatch(reticulate::virtualenv_python(envname), error = function(e) NULL)
}

# Start Python as find_python() says, once. RETICULATE_PYTHON is set only
# while reticulate starts, since it outranks use_python() there.
start_python <- function() {
  if (reticulate::py_available(initialize = FALSE)) return(invisible(TRUE))
  found <- find_python()
  if (is.null(found$python)) stop_no_python(found$reason)
  if (!file.exists(found$python)) {
    stop_no_python(sprintf("%s, but %s does not exist", found$reason, found$python))
  }
  old <- Sys.getenv("RETICULATE_PYTHON", NA)
  Sys.setenv(RETICULATE_PYTHON = found$python)
  on.exit(if (is.na(old)) Sys.unsetenv("RETICULATE_PYTHON") else Sys.setenv(RETICULATE_PYTHON = old))
  ok <- tryCatch(reticulate::py_available(initialize = TRUE), error = function(e) FALSE)
  if (!ok) stop_no_python(sprintf("%s, but %s could not be started", found$reason, found$python))
  .state$found <- found
  invisible(TRUE)
}

stop_no_python <- function(what) {
  abort(paste0(
    "torchlinreg needs Python with torch and the torchlinreg Python package: ", what, ".\n",
    "Run install_torchlinreg() once to create the virtualenv '", ENVNAME, "', ",
    "or set TORCHLINREG_PYTHON to a Python that has them; ",
    "torchlinreg_config() shows what was found and why."),
    "python_missing")
}

#' Is the Python side of torchlinreg ready?
#'
#' Starts Python if needed and checks that torch and the torchlinreg
#' Python package can be imported. Never fails.
#'
#' @return `TRUE` or `FALSE`.
#' @export
#' @examples
#' torchlinreg_available()
torchlinreg_available <- function() {
  isTRUE(tryCatch({
    python_bridge()
    TRUE
  }, error = function(e) FALSE))
}

# The bridge module, after checking that Python, torch and torchlinreg
# are there; the one place that raises the "install" error.
python_bridge <- function() {
  if (isTRUE(.state$ready)) return(.state$bridge)
  start_python()
  for (module in c("numpy", "torch", "torchlinreg.bridge")) {
    problem <- import_problem(module)
    if (!is.null(problem)) {
      stop_no_python(sprintf("the Python at %s cannot import '%s' (%s)",
                             reticulate::py_config()$python, module, problem))
    }
  }
  .state$ready <- TRUE
  .state$bridge
}

# NULL if `module` imports, else the last line of Python's error.
import_problem <- function(module) {
  error <- tryCatch({
    reticulate::import(module)
    NULL
  }, error = function(e) conditionMessage(e))
  if (is.null(error)) return(NULL)
  lines <- strsplit(trimws(error), "\n")[[1]]
  lines[nzchar(trimws(lines))][1]
}

# Call a bridge function; a Python exception becomes an R condition of
# class c("torchlinreg_<type>", ..., "torchlinreg_error", "error",
# "condition") carrying the Python message and nothing else. Ctrl-C during
# the call goes to Python (take_sigint): a fit comes back marked
# "interrupted"; a call with nothing to return yet raises a
# "torchlinreg_interrupted" error that is also an R "interrupt" condition.
bridge_call <- function(name, ...) {
  bridge <- python_bridge()
  out <- bridge$call(name, list(...), take_sigint = TRUE)
  if (!is.null(out$error)) python_error(out$error)
  out$value
}

python_error <- function(error) {
  types <- unlist(error$types)
  if ("KeyboardInterrupt" %in% types) abort(error$message, "interrupted")
  classes <- snake_case(types)
  if ("DivergenceError" %in% types) classes <- c(classes, "divergence")
  fields <- error[setdiff(names(error), c("types", "message"))]
  if (!is.null(fields$history)) fields$history <- history_frame(fields$history)
  abort(error$message, classes, c(list(python_type = types[[1]]), fields))
}
