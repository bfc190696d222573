# Conditions: every error torchlinreg raises is classed, so that callers
# can catch one kind (tryCatch(..., torchlinreg_rows_not_kept = )) or all
# (torchlinreg_error). The class vectors are built here and nowhere else.

# The condition classes for `class`, most specific first: each name gets
# the "torchlinreg_" prefix (names that have it keep it), then
# "torchlinreg_error", "error", "condition". An interruption is also an R
# "interrupt", so handlers written for Ctrl-C catch it.
error_class <- function(class) {
  own <- ifelse(startsWith(class, "torchlinreg_"), class, paste0("torchlinreg_", class))
  own <- setdiff(own, "torchlinreg_error")
  c(own, "torchlinreg_error", if ("torchlinreg_interrupted" %in% own) "interrupt",
    "error", "condition")
}

# Stop with a classed error: abort("...", "input_error") is an error of
# class c("torchlinreg_input_error", "torchlinreg_error", "error",
# "condition"); `class` may name several, most specific first; `fields`
# are further components of the condition (as a DivergenceError's step).
abort <- function(message, class = "input_error", fields = list()) {
  stop(structure(c(list(message = message, call = NULL), fields), class = error_class(class)))
}

# A warning of class c("torchlinreg_<class>", "warning", "condition").
warn <- function(message, class) {
  own <- ifelse(startsWith(class, "torchlinreg_"), class, paste0("torchlinreg_", class))
  warning(structure(list(message = message, call = NULL),
                    class = c(unique(own), "warning", "condition")))
}

# "ConvergenceWarning" -> "convergence_warning": Python class names as R's.
snake_case <- function(x) {
  tolower(gsub("([a-z0-9])([A-Z])", "\\1_\\2", x))
}
