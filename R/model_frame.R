# lm()'s model frame, without a copy of the data where nothing is dropped.
#
# model.frame() with na.omit() or na.exclude() copies every column even when
# no row has an NA (na.omit.data.frame() subsets with an all-TRUE index):
# on a million rows that copy takes longer than the rest of the frame and
# the design matrix together. For stats' own actions (na.omit, na.exclude,
# na.fail, na.pass, or none) a frame without NA is its own result, so the
# frame is first built with na.pass; if it has an NA, or the action is any
# other function, the frame is built again exactly as lm() builds it (rows
# dropped before unused factor levels are).

# `call` is lm()'s stats::model.frame() call and `env` where lm() evaluates it.
# Only where `data` is a name (or not given), so that evaluating it twice
# costs nothing and does nothing.
model_frame <- function(call, env) {
  if (is.null(call$data) || is.name(call$data)) {
    data <- if (!is.null(call$data)) eval(call$data, env)
    if (is_stats_na_action(na_action_of(call, env, data), env)) {
      quick <- call
      quick$na.action <- quote(stats::na.pass)
      frame <- eval(quick, env)
      if (!anyNA(frame, recursive = TRUE)) return(frame)
    }
  }
  eval(call, env)
}

# The na.action model.frame.default() applies: the call's own, else the
# data's "na.action" attribute (unless numeric), else getOption("na.action").
na_action_of <- function(call, env, data) {
  if ("na.action" %in% names(call)) return(eval(call$na.action, env))
  given <- attr(data, "na.action")
  if (!is.null(given) && mode(given) != "numeric") given else getOption("na.action")
}

is_stats_na_action <- function(action, env) {
  if (is.null(action)) return(TRUE)
  if (is.character(action) && length(action) == 1L) {
    action <- get0(action, envir = env, mode = "function")
  }
  if (!is.function(action)) return(FALSE)
  any(vapply(list(stats::na.omit, stats::na.exclude, stats::na.fail, stats::na.pass),
             identical, logical(1), action))
}
