# The progress of a fit: its bar, its warnings, Ctrl-C.
#
# A fit is one bridge call. The bar is Python's own (tqdm, on the process's
# stderr: the terminal R runs in), drawn by the training loop itself, so a
# fit with the bar is the same fit, bit for bit. Ctrl-C during the call goes
# to Python (see bridge_call()), which ends the loop and returns the fit so
# far, marked "interrupted". The warnings Python raised during the call come
# back with the result and are raised here as R warnings, so that
# suppressWarnings() and withCallingHandlers() see them.

# What torch_lm(verbose = ) asks of Python: TRUE a bar, FALSE none, NULL a
# bar in interactive sessions, once the fit has run for a second, where
# Python's stderr is a terminal (Python's own rule for verbose = None).
python_verbose <- function(verbose) {
  if (is.null(verbose)) {
    if (interactive()) NULL else FALSE
  } else {
    isTRUE(verbose)
  }
}

# Raise the warnings a bridge fit held (list of list(type, message)) as R
# warnings of class "torchlinreg_<type>" and "torchlinreg_warning".
raise_held_warnings <- function(held) {
  for (w in held) warn(w$message, snake_case(c(w$type, "Warning")))
  invisible(NULL)
}
