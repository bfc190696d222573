# The progress bar of torch_lm(): a fit in chunks of epochs, each resuming the last.

# `core(resume, epochs, verbose, hold_warnings)` runs one bridge fit. The
# chunks are sized to take about half a second each (the first is 1% of the
# epochs), so a quick fit makes few calls. With `lazy`, the bar appears only
# once the fit has run for a second. Only the last chunk's warnings are
# raised (as R warnings): the earlier chunks all stop at their epoch limit.
fit_in_chunks <- function(core, options, handle, previous, lazy) {
  base <- if (is.null(previous)) 0 else previous$convergence$n_iter
  total <- options$epochs %||%
    (if (!is.null(previous)) previous$settings$epochs else if (is.null(options$batch_size)) 10000 else 100)
  total <- as.integer(total)
  started <- proc.time()[["elapsed"]]
  chunk <- max(1L, as.integer(ceiling(total / 100)))
  done <- 0L
  out <- NULL
  bar <- NULL
  on.exit(if (!is.null(bar)) close(bar))
  repeat {
    steps <- min(chunk, total - done)
    before <- proc.time()[["elapsed"]]
    next_out <- tryCatch(core(handle, steps, verbose = FALSE, hold_warnings = TRUE),
                         interrupt = function(e) NULL)
    if (is.null(next_out)) {
      if (is.null(out)) {
        abort("the fit was interrupted before its first steps finished; there is nothing to return.",
              "interrupted")
      }
      out$convergence$stop_reason <- "interrupted"
      out$convergence$converged <- FALSE
      out$warnings <- list()
      break
    }
    out <- next_out
    handle <- out$python_fit
    done <- as.integer(out$convergence$n_iter - base)
    now <- proc.time()[["elapsed"]]
    if (is.null(bar) && (!lazy || now - started > 1)) {
      bar <- utils::txtProgressBar(min = 0, max = total, style = 3)
    }
    if (!is.null(bar)) utils::setTxtProgressBar(bar, if (identical(out$convergence$stop_reason, "max_epochs")) done else total)
    if (!identical(out$convergence$stop_reason, "max_epochs") || done >= total) break
    rate <- steps / max(now - before, 1e-3)
    chunk <- max(1L, as.integer(min(ceiling(rate * 0.5), total - done)))
  }
  # The settings say what one call would have: the epoch limit of the whole fit.
  out$settings$epochs <- as.integer(base + total)
  reticulate::py_set_item(reticulate::py_get_attr(handle, "settings"), "epochs",
                          as.integer(base + total))
  for (held in out$warnings) warn(held$message, snake_case(c(held$type, "Warning")))
  out$warnings <- NULL
  out
}
