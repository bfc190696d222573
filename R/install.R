#' Install the Python side of torchlinreg
#'
#' Creates (or updates) the virtualenv `r-torchlinreg` with the pinned
#' Python dependencies (torch 2.13.0, numpy < 2 for reticulate 1.28,
#' pandas < 3, scipy, threadpoolctl, pyarrow) and the torchlinreg Python package from a source
#' checkout. torchlinreg uses this virtualenv when no Python was
#' chosen and `TORCHLINREG_PYTHON` is not set (see [torchlinreg_config()]).
#'
#' @param source Path of the torchlinreg source checkout (the directory
#'   with `pyproject.toml` and `python/torchlinreg`).
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
  if (is.null(source) || !file.exists(file.path(source, "pyproject.toml")) ||
      !dir.exists(file.path(source, "python", "torchlinreg"))) {
    abort(paste0(
      "install_torchlinreg() needs the torchlinreg source checkout (with pyproject.toml ",
      "and python/torchlinreg). ",
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
