#' Install the Python side of torchlinreg
#'
#' Creates (or updates) the virtualenv `r-torchlinreg` with the pinned
#' Python dependencies (torch 2.13.0, numpy < 2 for reticulate 1.28,
#' pandas < 3, scipy, threadpoolctl, pyarrow) and the torchlinreg Python package from a source
#' checkout. torchlinreg uses this virtualenv when neither
#' `TORCHLINREG_PYTHON` nor `RETICULATE_PYTHON` is set and no checkout
#' `.venv` is found (see [torchlinreg_config()]).
#'
#' @param source Path of the torchlinreg source checkout (the directory
#'   with `pyproject.toml` and `python/torchlinreg`). By default the
#'   checkout holding the working directory.
#' @param envname Name of the virtualenv.
#' @param python The Python used to create the virtualenv, if it does not
#'   exist yet (default: reticulate's choice).
#' @return The path of the virtualenv's Python, invisibly.
#' @export
#' @examples
#' \dontrun{
#' install_torchlinreg("~/src/torchlinreg")
#' }
install_torchlinreg <- function(source = NULL, envname = "r-torchlinreg", python = NULL) {
  source <- source %||% find_repository(need_venv = FALSE)
  if (is.null(source) || !file.exists(file.path(source, "pyproject.toml")) ||
      !dir.exists(file.path(source, "python", "torchlinreg"))) {
    abort(paste0(
      "install_torchlinreg() needs the torchlinreg source checkout (with pyproject.toml ",
      "and python/torchlinreg); none was found from ", getwd(), ". ",
      "Pass its path: install_torchlinreg(\"path/to/torchlinreg\")."),
      c("torchlinreg_install_error", "torchlinreg_error"))
  }
  source <- normalizePath(source)
  if (!reticulate::virtualenv_exists(envname)) {
    if (is.null(python)) reticulate::virtualenv_create(envname)
    else reticulate::virtualenv_create(envname, python = python)
  }
  reticulate::virtualenv_install(envname, PYTHON_REQUIREMENTS, ignore_installed = FALSE)
  reticulate::virtualenv_install(envname, source, pip_options = "--no-deps")
  message("torchlinreg's Python side is installed in the virtualenv '", envname, "'.",
          if (reticulate::py_available(initialize = FALSE))
            " Restart R to use it." else "")
  invisible(reticulate::virtualenv_python(envname))
}

# The pins of requirements.txt that the R package needs.
PYTHON_REQUIREMENTS <- c("torch==2.13.0", "numpy<2", "pandas<3", "scipy", "threadpoolctl>=3",
                         "pyarrow>=14,<21")

`%||%` <- function(x, y) if (is.null(x)) y else x

#' Show which Python torchlinreg uses and why
#'
#' Prints the Python that was (or would be) chosen, the rule that chose
#' it, whether torch and the torchlinreg Python package import there and
#' their versions, and what to do when something is missing.
#'
#' @param start If `TRUE`, start Python to check the modules; if `FALSE`,
#'   only report which Python would be chosen.
#' @return A list with `python`, `source`, `reason`, `available`,
#'   `torch`, `torchlinreg`, invisibly.
#' @export
#' @examples
#' torchlinreg_config(start = FALSE)
torchlinreg_config <- function(start = TRUE) {
  found <- find_python()
  info <- c(found, list(available = NA, torch = NA_character_, torchlinreg = NA_character_))
  if (start && !is.null(found$python)) {
    info$available <- torchlinreg_available()
    if (reticulate::py_available(initialize = FALSE)) {
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
  cat("torchlinreg", as.character(utils::packageVersion("torchlinreg")), "\n")
  cat("Python:      ", x$python %||% "(none)", "\n")
  cat("chosen by:   ", x$reason, "\n")
  cat("torch:       ", if (is.na(x$torch)) "not found" else x$torch, "\n")
  cat("torchlinreg: ", if (is.na(x$torchlinreg)) "not found" else x$torchlinreg, "\n")
  if (is.null(x$python) || isFALSE(x$available)) {
    cat("\nNothing usable was found. Either run install_torchlinreg() once (it creates the",
        "virtualenv 'r-torchlinreg'), or set TORCHLINREG_PYTHON to a Python that has torch",
        "and the torchlinreg package (in a source checkout, `make deps` builds .venv).\n",
        fill = TRUE)
  } else if (!is.na(x$torchlinreg) &&
             x$torchlinreg != as.character(utils::packageVersion("torchlinreg"))) {
    cat("\nThe Python package's version differs from the R package's; reinstall one of them.\n")
  }
  invisible(x)
}
