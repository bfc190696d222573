#' Install the Python side of torchlinreg
#'
#' Creates the virtualenv `r-torchlinreg` (or updates it) and installs into
#' it the torchlinreg Python package that this R package carries
#' (`system.file("python", package = "torchlinreg")`) with its pinned
#' dependencies: torch 2.13.0 (the CPU build unless `torch = "cuda"`),
#' numpy < 2 (reticulate 1.28 refuses numpy 2), pandas < 3, scipy and
#' threadpoolctl, and those of `extras`. No source checkout is needed.
#' Quiet unless `verbose = TRUE`; one line at the end says what was
#' installed, where, and how long it took.
#'
#' @section Where it goes:
#' In reticulate's virtualenv root, `reticulate::virtualenv_root()`: the
#' directory `WORKON_HOME`, or `~/.virtualenvs` when that is unset. It takes
#' about 1 GB (torch's CPU build is most of it; a CUDA build takes
#' several GB). Later R sessions find it there, so they need the same
#' `WORKON_HOME`. With `envname` a path it goes there instead; choose it
#' then with `reticulate::use_virtualenv(path)` before the first fit, or
#' `TORCHLINREG_PYTHON`.
#'
#' @section Which Python torchlinreg uses:
#' As reticulate does, a Python the user chose wins: the environment
#' variables `RETICULATE_PYTHON` or `RETICULATE_PYTHON_ENV`,
#' `reticulate::use_python()` or `reticulate::use_virtualenv()` called
#' before the first fit, or an active virtualenv (`VIRTUAL_ENV`). Then the
#' environment variable `TORCHLINREG_PYTHON`, then this virtualenv.
#' Nothing depends on the working directory; [torchlinreg_config()] says
#' what was chosen and why.
#'
#' @section The Python that makes the virtualenv:
#' `python`, or else the first of `python3` and `python` on the `PATH`,
#' `/usr/local/bin/python3` and `/usr/bin/python3` that is Python >= 3.9
#' with a shared libpython (reticulate needs one) and whose `ssl`, `venv`
#' and `ensurepip` import when it is run from R. R puts its own libraries
#' on `LD_LIBRARY_PATH`, which can make a Python load another copy of
#' libpython and fail to import `ssl`, which pip needs; so Pythons are run
#' without R's `LD_LIBRARY_PATH`, or with it where only that works. An
#' existing virtualenv whose Python no longer starts, or lacks `ssl` or
#' pip, is broken: one that `install_torchlinreg()` made (or named
#' `r-torchlinreg`) is rebuilt, as with `force = TRUE`; another is an
#' error until `force = TRUE`. A working one made from another Python
#' than `python` is not reused either without `force = TRUE`. A
#' virtualenv this call created is removed when the install fails.
#'
#' @param envname The virtualenv: a name (in reticulate's virtualenv root)
#'   or a path.
#' @param python The Python that makes the virtualenv, when it is made
#'   (default: the first usable one, as described below).
#' @param extras Extras of the Python package to install too, e.g.
#'   `"files"` (pyarrow, which [torch_lm_files()] needs), `"plot"`
#'   (matplotlib), `"formula"` (formulaic), `"sklearn"` (scikit-learn).
#' @param torch `"cpu"` (the default): torch 2.13.0's CPU build (about 200
#'   MB to download), from PyTorch's CPU index, the option
#'   `torchlinreg.torch_index` (`""` leaves it to pip's configured
#'   indexes). `"cuda"`: the torch that pip's indexes offer, which PyPI
#'   builds for CUDA on Linux (several GB).
#' @param force If `TRUE`, remove the virtualenv and make it again.
#' @param verbose If `TRUE`, show pip's output as it runs; otherwise only
#'   its last lines, on failure.
#' @return The path of the virtualenv's Python, invisibly.
#' @export
#' @examples
#' \dontrun{
#' install_torchlinreg()                     # CPU torch, ~1 GB in ~/.virtualenvs
#' install_torchlinreg(extras = "files")     # also pyarrow, for torch_lm_files()
#' install_torchlinreg(force = TRUE)         # rebuild it from scratch
#' }
install_torchlinreg <- function(envname = ENVNAME, python = NULL, extras = character(),
                                torch = c("cpu", "cuda"), force = FALSE, verbose = FALSE) {
  started <- Sys.time()
  torch <- match.arg(torch)
  source <- python_sources()
  requirements <- read_requirements(file.path(source, "requirements.txt"))
  known <- setdiff(names(requirements), c("core", "cuda"))
  unknown <- setdiff(extras, known)
  if (length(unknown)) {
    install_error(sprintf("unknown extras %s; the Python package has %s",
                          paste0('"', unknown, '"', collapse = ", "), paste(known, collapse = ", ")))
  }
  dir <- virtualenv_dir(envname)
  base <- if (!is.null(python)) usable_python(python)
  venv <- reusable_virtualenv(dir, base, force)
  created <- is.null(venv)
  if (created) venv <- create_virtualenv(dir, base %||% choose_python(), verbose)
  done <- FALSE
  on.exit(if (created && !done) unlink(dir, recursive = TRUE), add = TRUE)

  pip_install(venv, source, requirements, extras, torch, verbose)
  versions <- installed_versions(venv)
  done <- TRUE
  message(sprintf("torchlinreg %s (torch %s) %s in the virtualenv %s (%s) in %.0f s%s.",
                  versions[1], versions[2], if (created) "installed" else "updated", dir,
                  disk_size(dir), as.numeric(difftime(Sys.time(), started, units = "secs")),
                  restart_note(venv$python)))
  invisible(venv$python)
}

# The versions of torchlinreg and torch, from an import of what R will
# import (which also compiles those modules, see pip()).
installed_versions <- function(venv) {
  out <- run_python(venv$python, c("-I", "-c", shQuote(paste0(
    "import numpy, torch, torchlinreg, ", BRIDGE_MODULE, "; ",
    "print('VERSIONS', torchlinreg.__version__, torch.__version__)"))), venv$env)
  line <- grep("^VERSIONS ", out$output, value = TRUE)
  if (out$status != 0 || !length(line)) {
    install_error(paste0("the packages were installed, but they do not import:\n",
                         paste(utils::tail(out$output, 5), collapse = "\n")))
  }
  strsplit(line[1], " ", fixed = TRUE)[[1]][-1]
}

# The Python sources this R package carries: the build (tools/build_r_package.sh)
# puts python/torchlinreg, a pyproject.toml and the pins into inst/python.
python_sources <- function() {
  source <- system.file("python", package = "torchlinreg")
  if (!nzchar(source) || !file.exists(file.path(source, "pyproject.toml")) ||
      !file.exists(file.path(source, "requirements.txt"))) {
    install_error(paste0(
      "this installation of the torchlinreg R package carries no Python sources (inst/python): ",
      "it was installed from a source checkout rather than from its tarball. In the checkout, ",
      "`make build` builds the tarball; install that (R CMD INSTALL torchlinreg_*.tar.gz)"))
  }
  source
}

# The pins, by extra ("core" for the core, "cuda" for torch's CUDA bound).
read_requirements <- function(path) {
  lines <- trimws(readLines(path, warn = FALSE))
  lines <- lines[nzchar(lines) & !startsWith(lines, "#")]
  heading <- grepl("^\\[.*\\]$", lines)
  group <- c("core", gsub("^\\[|\\]$", "", lines[heading]))[cumsum(heading) + 1L]
  split(lines[!heading], factor(group[!heading], levels = unique(group)))
}

install_error <- function(what) {
  abort(paste0("install_torchlinreg(): ", what, "."),
        c("torchlinreg_install_error", "torchlinreg_error"))
}

# What Python reports about itself, checked for what a virtualenv made from
# it (or it, a virtualenv) needs: Python >= 3.9, a shared libpython, and the
# modules given on its command line.
PROBE <- paste(sep = "\n",
  "import os, sys, sysconfig",
  "problems = []",
  "if sys.version_info < (3, 9): problems.append('it is Python %d.%d, older than 3.9' % sys.version_info[:2])",
  "if not (sysconfig.get_config_var('Py_ENABLE_SHARED') or sysconfig.get_config_var('PYTHONFRAMEWORK') or os.name == 'nt'):",
  "    problems.append('it has no shared libpython, which reticulate needs')",
  "for module in sys.argv[1:]:",
  "    try: __import__(module)",
  "    except Exception as error: problems.append('import %s fails (%s)' % (module, (str(error).strip().splitlines() or [type(error).__name__])[-1]))",
  "base = os.path.realpath(getattr(sys, '_base_executable', sys.executable))",
  "print('PROBE', '%d.%d.%d' % sys.version_info[:3], base, '; '.join(problems), sep='\\t')")

# Run a Python (quietly, its output kept), with `env` ("NAME=value" entries).
run_python <- function(python, args, env = character(), verbose = FALSE) {
  if (verbose) return(list(status = system2(python, args, env = env), output = character()))
  output <- suppressWarnings(system2(python, args, stdout = TRUE, stderr = TRUE, env = env))
  list(status = attr(output, "status") %||% 0L, output = output)
}

# The environments a Python is tried in: without R's LD_LIBRARY_PATH first
# (R's libraries are not the Python's), then as R set it.
python_envs <- function() {
  if (.Platform$OS.type == "windows" || !nzchar(Sys.getenv("LD_LIBRARY_PATH"))) return(list(character()))
  list("LD_LIBRARY_PATH=", character())
}

# list(python, version, base, env, problem): the first environment in which
# `python` passes the probe, or the problem seen without R's libraries.
probe_python <- function(python, modules) {
  if (!file.exists(python)) return(list(python = python, problem = "it does not exist"))
  result <- NULL
  for (env in python_envs()) {
    out <- run_python(python, c("-I", "-c", shQuote(PROBE), modules), env)
    line <- grep("^PROBE\t", out$output, value = TRUE)
    fields <- if (length(line)) c(strsplit(line[1], "\t", fixed = TRUE)[[1]], "") else character()
    problem <- if (length(fields) < 4) {
      paste0("it does not run (", utils::tail(c("no output", out$output), 1), ")")
    } else if (nzchar(fields[4])) fields[4]
    probe <- list(python = python, version = fields[2], base = fields[3], env = env, problem = problem)
    if (is.null(problem)) return(probe)
    result <- result %||% probe
  }
  result
}

BASE_MODULES <- c("ssl", "venv", "ensurepip")

usable_python <- function(python) {
  probe <- probe_python(path.expand(python), BASE_MODULES)
  if (!is.null(probe$problem)) install_error(sprintf("the Python %s cannot make the virtualenv: %s",
                                                     python, probe$problem))
  probe
}

choose_python <- function() {
  candidates <- unique(c(Sys.which(c("python3", "python")), "/usr/local/bin/python3", "/usr/bin/python3"))
  candidates <- candidates[nzchar(candidates) & file.exists(candidates)]
  problems <- character()
  for (python in candidates) {
    probe <- probe_python(python, BASE_MODULES)
    if (is.null(probe$problem)) return(probe)
    problems <- c(problems, sprintf("%s: %s", python, probe$problem))
  }
  install_error(paste0("no Python here can make the virtualenv",
                       if (length(problems)) paste0(" (", paste(problems, collapse = "; "), ")"),
                       "; pass one that can: install_torchlinreg(python = \"/path/to/python3\")"))
}

# The file that marks a virtualenv install_torchlinreg() made.
MADE_HERE <- ".made-by-install_torchlinreg"

# The virtualenv at `dir` when it can be used as it is (a probe of its
# Python), or NULL when it is to be made: it does not exist, or it is
# broken, or force = TRUE (both said, and the old one removed). Only a
# virtualenv install_torchlinreg() made (or one named r-torchlinreg) is
# removed unasked when broken; someone else's takes force = TRUE.
reusable_virtualenv <- function(dir, base, force) {
  if (!file.exists(dir) || (dir.exists(dir) && length(list.files(dir, all.files = TRUE, no.. = TRUE)) == 0)) {
    return(NULL)
  }
  if (!file.exists(file.path(dir, "pyvenv.cfg"))) {
    install_error(sprintf("%s exists and is not a virtualenv; remove it or choose another envname", dir))
  }
  venv <- probe_python(env_python(dir), c("ssl", "pip"))
  why <- if (force) "force = TRUE" else if (!is.null(venv$problem)) paste("it is broken:", venv$problem)
  ours <- basename(dir) == ENVNAME || file.exists(file.path(dir, MADE_HERE))
  if (!force && !is.null(why) && !ours) {
    install_error(sprintf("the virtualenv %s is broken (%s); force = TRUE rebuilds it", dir, venv$problem))
  }
  if (is.null(why)) {
    if (!is.null(base) && !identical(base$base, venv$base)) {
      install_error(sprintf(paste0("the virtualenv %s was made from %s, not %s; ",
                                   "force = TRUE rebuilds it from that Python"), dir, venv$base, base$base))
    }
    return(venv)
  }
  message(sprintf("Rebuilding the virtualenv %s (%s).", dir, why))
  unlink(dir, recursive = TRUE)
  NULL
}

create_virtualenv <- function(dir, base, verbose) {
  dir.create(dirname(dir), recursive = TRUE, showWarnings = FALSE)
  out <- run_python(base$python, c("-I", "-m", "venv", shQuote(dir)), base$env, verbose)
  venv <- if (out$status == 0) probe_python(env_python(dir), c("ssl", "pip"))
  if (out$status != 0 || !is.null(venv$problem)) {
    unlink(dir, recursive = TRUE)
    install_error(sprintf("%s -m venv %s failed: %s", base$python, dir,
                          venv$problem %||% paste(utils::tail(out$output, 5), collapse = "\n")))
  }
  writeLines("This virtualenv was made by torchlinreg::install_torchlinreg().", file.path(dir, MADE_HERE))
  venv
}

# pip builds in the directory it installs from, so it gets a copy.
pip_install <- function(venv, source, requirements, extras, torch, verbose) {
  copy <- tempfile("torchlinreg-python-")
  dir.create(copy)
  on.exit(unlink(copy, recursive = TRUE), add = TRUE)
  file.copy(list.files(source, full.names = TRUE), copy, recursive = TRUE)
  index <- getOption("torchlinreg.torch_index", "https://download.pytorch.org/whl/cpu")
  for (args in pip_runs(requirements, extras, torch, index, copy)) {
    hint <- if ("--index-url" %in% args) paste(
      "options(torchlinreg.torch_index = ) names another index for torch's CPU build",
      "(\"\": pip's configured indexes)")
    pip(venv, args, verbose, hint)
  }
}

# pip's arguments, run by run: one for the package and its pins, after one
# for torch alone when it comes from PyTorch's CPU index (so that no other
# torch is considered, PyPI's CUDA build of the same version included).
pip_runs <- function(requirements, extras, torch, index, package) {
  core <- requirements[["core"]]
  is_torch <- grepl("^torch([^a-zA-Z0-9_.-]|$)", core)
  if (torch == "cuda") core <- c(core[!is_torch], requirements[["cuda"]])
  if (length(extras)) package <- sprintf("%s[%s]", package, paste(extras, collapse = ","))
  c(if (torch == "cpu" && nzchar(index)) list(c(core[is_torch], "--index-url", index)),
    list(c(core, unlist(requirements[extras], use.names = FALSE), package)))
}

# --no-compile: compiling all of torch's modules is most of pip's time; the import
# that checks the install compiles those it uses.
pip <- function(venv, args, verbose, hint = NULL) {
  out <- run_python(venv$python, c("-I", "-m", "pip", "install", "--disable-pip-version-check",
                                   "--no-compile", if (!verbose) "--quiet", shQuote(args)),
                    venv$env, verbose)
  if (out$status != 0) {
    install_error(paste0("pip install ", paste(args, collapse = " "), " failed",
                         if (length(out$output)) paste0(":\n", paste(utils::tail(out$output, 15), collapse = "\n")),
                         if (!is.null(hint)) paste0("\n", hint)))
  }
}

disk_size <- function(dir) {
  kb <- suppressWarnings(tryCatch(system2("du", c("-sk", shQuote(dir)), stdout = TRUE, stderr = FALSE),
                                  error = function(e) character()))
  kb <- suppressWarnings(as.numeric(sub("\t.*", "", kb[1])))
  if (is.na(kb)) return("size unknown")
  if (kb >= 1024^2) sprintf("%.1f GB", kb / 1024^2) else sprintf("%.0f MB", kb / 1024)
}

restart_note <- function(python) {
  if (!reticulate::py_available(initialize = FALSE)) return("")
  running <- normalizePath(reticulate::py_config()$python, mustWork = FALSE)
  if (identical(running, normalizePath(python, mustWork = FALSE))) "" else "; restart R to use it"
}
