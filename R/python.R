# Finding Python, reaching the bridge module, and turning Python errors
# into R conditions.

.state <- new.env(parent = emptyenv())

# The virtualenv install_torchlinreg() creates, and the Python module R
# calls (named here only).
ENVNAME <- "r-torchlinreg"
BRIDGE_MODULE <- "torchlinreg.interop.bridge"

#' Which Python torchlinreg would use, and why
#'
#' reticulate's conventions: a Python the user chose wins (the environment
#' variables `RETICULATE_PYTHON` and `RETICULATE_PYTHON_ENV`,
#' `reticulate::use_python()` or `use_virtualenv()` before Python starts,
#' an active virtualenv `VIRTUAL_ENV`, in that order); then
#' `TORCHLINREG_PYTHON`; then the virtualenv `r-torchlinreg` made by
#' [install_torchlinreg()]. Nothing depends on the working directory.
#' Once Python has started in this R session it cannot change, so that
#' Python wins.
#'
#' @return A list with `python` (a path, or `NULL` when nothing was
#'   found), `source` (which rule chose it), `reason` (a sentence) and
#'   `problem` (why it cannot be used, or `NULL`).
#' @keywords internal
#' @noRd
find_python <- function() {
  if (reticulate::py_available(initialize = FALSE)) {
    if (!is.null(.state$found)) return(.state$found)
    return(found_python(reticulate::py_config()$python, "running",
                        "Python is already running in this R session"))
  }
  chosen <- user_python() %||% torchlinreg_python()
  if (!is.null(chosen)) return(chosen)
  found_python(NULL, "none", paste0(
    "no Python was chosen (RETICULATE_PYTHON, RETICULATE_PYTHON_ENV, reticulate::use_python() ",
    "or use_virtualenv(), VIRTUAL_ENV), TORCHLINREG_PYTHON is not set, and there is no ",
    "virtualenv '", ENVNAME, "' in ", dirname(virtualenv_dir(ENVNAME))))
}

found_python <- function(python, source, reason, problem = NULL) {
  list(python = python, source = source, reason = reason, problem = problem)
}

# The Python the user chose through reticulate or an active virtualenv, or NULL.
user_python <- function() {
  for (var in c("RETICULATE_PYTHON", "RETICULATE_PYTHON_ENV")) {
    value <- Sys.getenv(var)
    if (nzchar(value)) {
      python <- if (var == "RETICULATE_PYTHON") value else env_python(value)
      return(found_python(python, var, sprintf("the environment variable %s is set", var)))
    }
  }
  required <- reticulate_required_python()
  if (!is.null(required)) {
    return(found_python(required, "use_python", "reticulate::use_python() or use_virtualenv() chose it"))
  }
  active <- Sys.getenv("VIRTUAL_ENV")
  if (nzchar(active)) {
    return(found_python(env_python(active), "VIRTUAL_ENV",
                        sprintf("the virtualenv %s is active (VIRTUAL_ENV)", active)))
  }
  NULL
}

# TORCHLINREG_PYTHON, else the virtualenv install_torchlinreg() made, or NULL.
torchlinreg_python <- function() {
  value <- Sys.getenv("TORCHLINREG_PYTHON")
  if (nzchar(value)) {
    return(found_python(value, "TORCHLINREG_PYTHON", "the environment variable TORCHLINREG_PYTHON is set"))
  }
  dir <- virtualenv_dir(ENVNAME)
  if (!dir.exists(dir)) return(NULL)
  found_python(env_python(dir), "virtualenv", sprintf("the virtualenv '%s' exists (%s)", ENVNAME, dir),
               virtualenv_problem(dir))
}

# reticulate (1.28 and later) keeps the Python that use_python() or
# use_virtualenv() required in an internal variable, and no function
# returns it before Python starts.
reticulate_required_python <- function() {
  globals <- tryCatch(get(".globals", envir = asNamespace("reticulate")), error = function(e) NULL)
  if (is.environment(globals)) globals$required_python_version else NULL
}

# A virtualenv's directory: `envname` when it is a path, else under
# reticulate's virtualenv root (WORKON_HOME, default ~/.virtualenvs).
virtualenv_dir <- function(envname) {
  if (grepl("/", envname, fixed = TRUE)) return(normalizePath(envname, mustWork = FALSE))
  file.path(normalizePath(reticulate::virtualenv_root(), mustWork = FALSE), envname)
}

env_python <- function(dir) {
  if (.Platform$OS.type == "windows") file.path(dir, "Scripts", "python.exe")
  else file.path(dir, "bin", "python")
}

# Why the virtualenv at `dir` cannot be used, from its files alone, or NULL.
virtualenv_problem <- function(dir) {
  if (!file.exists(file.path(dir, "pyvenv.cfg"))) return(sprintf("%s is not a virtualenv (no pyvenv.cfg)", dir))
  if (!file.exists(env_python(dir))) {
    return(sprintf("the virtualenv %s is broken: %s is missing or points to a Python that no longer exists",
                   dir, env_python(dir)))
  }
  NULL
}

# Start Python as find_python() says, once. find_python() has already
# given the user's choice its place, so RETICULATE_PYTHON is set to its
# answer while reticulate starts (and only then): otherwise reticulate
# would first look for a Poetry or Pipenv project above the working
# directory (and warn in any directory with a pyproject.toml).
start_python <- function() {
  if (reticulate::py_available(initialize = FALSE)) return(invisible(TRUE))
  found <- find_python()
  if (is.null(found$python)) stop_no_python(found$reason)
  if (!is.null(found$problem)) {
    stop_no_python(sprintf("%s, but %s", found$reason, found$problem),
                   sprintf("Run install_torchlinreg(force = TRUE) to rebuild the virtualenv '%s'", ENVNAME))
  }
  if (!file.exists(found$python)) {
    stop_no_python(sprintf("%s, but %s does not exist", found$reason, found$python))
  }
  old <- Sys.getenv("RETICULATE_PYTHON", NA)
  Sys.setenv(RETICULATE_PYTHON = found$python)
  on.exit(if (is.na(old)) Sys.unsetenv("RETICULATE_PYTHON") else Sys.setenv(RETICULATE_PYTHON = old))
  problem <- tryCatch(if (reticulate::py_available(initialize = TRUE)) NULL else "it did not start",
                      error = function(e) conditionMessage(e))
  if (!is.null(problem)) {
    stop_no_python(sprintf("%s, but %s could not be started (%s)", found$reason, found$python,
                           trimws(problem)))
  }
  .state$found <- found
  invisible(TRUE)
}

# What to do about a Python that lacks the modules: a virtualenv (other
# than the one install_torchlinreg() makes by default) can be given them.
install_fix <- function(python) {
  venv <- dirname(dirname(python))
  if (!file.exists(file.path(venv, "pyvenv.cfg")) || identical(venv, virtualenv_dir(ENVNAME))) return(NULL)
  sprintf(paste0("install_torchlinreg(envname = \"%s\") installs them into that virtualenv; ",
                 "or choose another Python, or none (then torchlinreg uses the virtualenv '%s')"),
          venv, ENVNAME)
}

stop_no_python <- function(what, fix = NULL) {
  fix <- fix %||% paste0(
    "Run install_torchlinreg() once to create the virtualenv '", ENVNAME, "', ",
    "or choose a Python that has them (reticulate::use_virtualenv(), or TORCHLINREG_PYTHON)")
  abort(paste0(
    "torchlinreg needs Python with torch and the torchlinreg Python package: ", what, ".\n",
    fix, "; torchlinreg_config() shows what was found and why."),
    "python_missing")
}

`%||%` <- function(x, y) if (is.null(x)) y else x

#' Show which Python torchlinreg uses and why
#'
#' Prints the Python that was (or would be) chosen, the rule that chose
#' it (see "Which Python" in [install_torchlinreg()]), and, when Python was
#' started to look, whether torch and the torchlinreg Python package import
#' there and their versions. What was not checked is reported as such.
#'
#' @param start If `TRUE`, start Python to check the modules; if `FALSE`,
#'   only report which Python would be chosen.
#' @return A list with `python`, `source`, `reason`, `problem`, `checked`
#'   (whether Python was started to look), `available`, `torch` and
#'   `torchlinreg` (`NA` when not checked), invisibly.
#' @export
#' @examples
#' torchlinreg_config(start = FALSE)
torchlinreg_config <- function(start = TRUE) {
  found <- find_python()
  info <- c(found[c("python", "source", "reason")],
            list(problem = found$problem, start = start, checked = FALSE, available = NA,
                 torch = NA_character_, torchlinreg = NA_character_))
  if (start && !is.null(found$python) && is.null(found$problem)) {
    info$available <- torchlinreg_available()
    if (reticulate::py_available(initialize = FALSE)) {
      info$checked <- TRUE
      info$python <- reticulate::py_config()$python
      info$torch <- module_version("torch")
      info$torchlinreg <- module_version("torchlinreg")
    }
  }
  class(info) <- "torchlinreg_config"
  print(info)
  invisible(info)
}

module_version <- function(module) {
  if (!reticulate::py_module_available(module)) return(NA_character_)
  as.character(reticulate::import(module)$`__version__`)
}

#' @export
print.torchlinreg_config <- function(x, ...) {
  not_checked <- if (!x$start) "not checked (start = FALSE)"
                 else if (is.null(x$python) || !is.null(x$problem)) "not checked (no usable Python)"
                 else "not checked (Python did not start)"
  version <- function(v) if (!x$checked) not_checked else if (is.na(v)) "not found" else v
  cat("torchlinreg", as.character(utils::packageVersion("torchlinreg")), "\n")
  cat("Python:      ", x$python %||% "(none)", "\n")
  cat("chosen by:   ", x$reason, "\n")
  if (!is.null(x$problem)) cat("problem:     ", x$problem, "\n")
  cat("torch:       ", version(x$torch), "\n")
  cat("torchlinreg: ", version(x$torchlinreg), "\n")
  if (!is.null(x$problem)) {
    cat("\nRun install_torchlinreg(force = TRUE) to rebuild the virtualenv.\n")
  } else if (is.null(x$python) || isFALSE(x$available)) {
    cat("\nNothing usable was found. Either run install_torchlinreg() once (it creates the",
        "virtualenv '", ENVNAME, "'), or choose a Python that has torch and the torchlinreg",
        "package: reticulate::use_virtualenv() before the first fit, or TORCHLINREG_PYTHON",
        "(in a source checkout, `make deps` builds .venv).\n", fill = TRUE)
  } else if (!is.na(x$torchlinreg) &&
             x$torchlinreg != as.character(utils::packageVersion("torchlinreg"))) {
    cat("\nThe Python package's version differs from the R package's; reinstall one of them.\n")
  }
  invisible(x)
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
  for (module in c("numpy", "torch", BRIDGE_MODULE)) {
    problem <- import_problem(module)
    if (!is.null(problem)) {
      python <- reticulate::py_config()$python
      stop_no_python(sprintf("the Python at %s (chosen because %s) cannot import '%s' (%s)",
                             python, find_python()$reason, module, problem), install_fix(python))
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
