#' Plot the training of a torch_lm fit
#'
#' The two figures of the R torch ultramarathon tutorial: the training (and
#' validation) loss at every step, and each coefficient's path over the
#' steps. Uses ggplot2 when it is installed, base graphics otherwise.
#'
#' @param x A `torch_lm` object.
#' @param which `"loss"`, `"parameters"` or both.
#' @param log_loss Draw the loss on a log scale.
#' @param ... Unused.
#' @return With ggplot2, a list of ggplot objects named as `which` (drawn
#'   when printed; `plot()` prints them); otherwise `NULL`. Invisibly.
#' @export
#' @examplesIf torchlinreg_available()
#' fit <- torch_lm(dist ~ speed, data = cars, seed = 1, validation = 0.2)
#' plot(fit, which = "loss")
plot.torch_lm <- function(x, which = c("loss", "parameters"), log_loss = TRUE, ...) {
  which <- match.arg(which, several.ok = TRUE)
  frames <- plot_data(x)
  use_ggplot <- requireNamespace("ggplot2", quietly = TRUE)
  plots <- lapply(stats::setNames(which, which), function(w) {
    if (use_ggplot) gg_plot(frames[[w]], w, log_loss) else base_plot(frames[[w]], w, log_loss)
  })
  if (use_ggplot) {
    for (p in plots) print(p)
    return(invisible(plots))
  }
  invisible(NULL)
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

gg_plot <- function(data, which, log_loss) {
  p <- ggplot2::ggplot(data, ggplot2::aes(x = .data$step, y = .data$value, colour = .data$series)) +
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

base_plot <- function(data, which, log_loss) {
  series <- levels(data$series)
  if (which == "loss") {
    graphics::matplot(unique(data$step), matrix(data$value, ncol = length(series)), type = "l",
                      lty = 1, col = seq_along(series), log = if (log_loss) "y" else "",
                      xlab = "step", ylab = "mean squared error", main = "Loss")
    graphics::legend("topright", legend = series, col = seq_along(series), lty = 1, bty = "n")
  } else {
    old <- graphics::par(mfrow = grDevices::n2mfrow(length(series)))
    on.exit(graphics::par(old))
    for (s in series) {
      d <- data[data$series == s, ]
      graphics::plot(d$step, d$value, type = "l", xlab = "step", ylab = s, main = s)
    }
  }
  invisible(NULL)
}

utils::globalVariables(".data")
