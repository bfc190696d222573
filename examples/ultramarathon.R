# The R torch ultramarathon tutorial with torch_lm(): predict the winning
# time of an ultramarathon from its distance and elevation, with Adam
# (learning rate 0.1) on standardized columns, 80% of the races for
# training and 20% held out, the losses and parameters tracked at every
# step, the two plots, and the comparison with lm() on the training rows.
#
#   Rscript examples/ultramarathon.R [--plot-dir DIR]
#
# Figures go to --plot-dir, else $TORCHLINREG_PLOT_DIR, else a temporary
# directory. Needs `make deps` (or install_torchlinreg()) first.
library(torchlinreg)

plot_dir <- function() {
  args <- commandArgs(trailingOnly = TRUE)
  at <- match("--plot-dir", args)
  dir <- if (!is.na(at) && length(args) > at) args[at + 1] else Sys.getenv("TORCHLINREG_PLOT_DIR", "")
  if (!nzchar(dir)) dir <- file.path(tempdir(), "ultramarathon")
  dir.create(dir, showWarnings = FALSE, recursive = TRUE)
  dir
}

str(ultra_winners)

fit <- torch_lm(time_in_seconds ~ distance + elevation_gain + elevation_loss,
                data = ultra_winners, optimizer = "adam", lr = 0.1,
                validation = 0.2, seed = 2021,
                precondition = "standardize")  # the tutorial's z-scored columns and curves
print(fit)
cat("training rows:", length(fit$train_rows), " validation rows:", length(fit$valid_rows), "\n")

# The tracked losses and parameters, one row per step (the tutorial's
# loss_history and the parameter trajectories).
history <- as.data.frame(fit)
print(head(history[c("step", "loss", "val_loss", "distance", "elevation_gain")]))
print(tail(history[c("step", "loss", "val_loss", "distance", "elevation_gain")], 3))

# The two plots: loss curves, and the parameters over the steps.
dir <- plot_dir()
for (which in c("loss", "parameters")) {
  path <- file.path(dir, paste0("ultramarathon_", which, ".png"))
  grDevices::png(path, width = 900, height = 600)
  plot(fit, which = which)
  grDevices::dev.off()
  cat("saved", path, "\n")
}

print(summary(fit))

# The same model by lm() on the same (training) rows.
comparison <- compare_lm(fit)
print(comparison, digits = 10)
cat(sprintf("max relative difference from lm(): coefficients %.3g, standard errors %.3g\n",
            max(comparison$rel_diff_lm), max(comparison$se_rel_diff)))
