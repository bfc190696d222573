#' Plot a torch_lm fit: lm()'s diagnostics, the loss and the parameter paths
#'
#' `plot(fit, which = 1:6)` draws [stats::plot.lm()]'s diagnostic plots
#' (residuals against fitted values, normal Q-Q, scale-location, Cook's
#' distances, residuals against leverage, Cook's distances against
#' leverage) of the fit at its gradient-descent coefficients.
#' `which = "loss"` draws the training (and validation) loss at every step,
#' `"parameters"` each coefficient's path over the steps (the two figures of
#' the R torch ultramarathon tutorial); both together, the default, share
#' one page, so `png(); plot(fit); dev.off()` keeps them both.
#' `autoplot()` (ggplot2) gives the loss or the parameter figure as a
#' ggplot; [ggplot2::fortify()] gives `lm()`'s diagnostic columns
#' (`.hat`, `.sigma`, `.cooksd`, `.fitted`, `.resid`, `.stdresid`).
#'
#' @param x,object A `torch_lm` object.
#' @param which Numbers, as for [stats::plot.lm()]; or `"loss"`,
#'   `"parameters"` or both (`autoplot()`: one of them).
#' @param log_loss Draw the loss on a log scale.
#' @param ... Passed to [stats::plot.lm()] for numeric `which`; unused otherwise.
#' @return `plot()`: `NULL`, invisibly. `autoplot()`: a ggplot.
#' @export
#' @examplesIf torchlinreg_available()
#' fit <- torch_lm(dist ~ speed, data = cars, seed = 1, validation = 0.2)
#' plot(fit)
#' plot(fit, which = 1)
#' if (requireNamespace("ggplot2", quietly = TRUE)) ggplot2::autoplot(fit, "parameters")
plot.torch_lm <- function(x, which = c("loss", "parameters"), log_loss = TRUE, ...) {
  if (is.numeric(which)) return(NextMethod())
  which <- match.arg(which, several.ok = TRUE)
  frames <- plot_data(x)
  parameters <- if ("parameters" %in% which) levels(frames$parameters$series) else character(0)
  panels <- ("loss" %in% which) + length(parameters)
  old <- graphics::par(mfrow = grDevices::n2mfrow(panels))
  on.exit(graphics::par(old))
  if ("loss" %in% which) draw_loss(frames$loss, log_loss)
  for (name in parameters) {
    d <- frames$parameters[frames$parameters$series == name, ]
    graphics::plot(d$step, d$value, type = "l", xlab = "step", ylab = name, main = name)
  }
  invisible(NULL)
}

#' @rdname plot.torch_lm
#' @exportS3Method ggplot2::autoplot
autoplot.torch_lm <- function(object, which = c("loss", "parameters"), log_loss = TRUE, ...) {
  which <- match.arg(which)
  p <- ggplot2::ggplot(plot_data(object)[[which]],
                       ggplot2::aes(x = .data$step, y = .data$value, colour = .data$series)) +
    ggplot2::geom_line() +
    ggplot2::labs(x = "step", colour = NULL)
  if (which == "loss") {
    p <- p + ggplot2::labs(y = "mean squared error", title = "Loss")
    if (log_loss) p <- p + ggplot2::scale_y_log10()
  } else {
    p <- p + ggplot2::facet_wrap(~series, scales = "free_y") +
      ggplot2::labs(y = "value", title = "Parameters") + ggplot2::theme(legend.position = "none")
  }
  p
}

# Long data frames: step, value, series.
plot_data <- function(fit) {
  h <- fit$history
  losses <- "loss"
  if (any(is.finite(h$val_loss))) losses <- c(losses, "val_loss")
  labels <- c(loss = "training", val_loss = "validation")
  params <- setdiff(names(h), c("iteration", "step", "loss", "val_loss", "grad_norm"))
  long <- function(columns, labels) {
    data.frame(step = rep(h$step, length(columns)),
               value = unlist(h[columns], use.names = FALSE),
               series = factor(rep(labels, each = nrow(h)), levels = labels))
  }
  list(loss = long(losses, labels[losses]), parameters = long(params, params))
}

draw_loss <- function(data, log_loss) {
  series <- levels(data$series)
  graphics::matplot(unique(data$step), matrix(data$value, ncol = length(series)), type = "l",
                    lty = 1, col = seq_along(series), log = if (log_loss) "y" else "",
                    xlab = "step", ylab = "mean squared error", main = "Loss")
  graphics::legend("topright", legend = series, col = seq_along(series), lty = 1, bty = "n")
}

utils::globalVariables(".data")
