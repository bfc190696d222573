# The rTorch fruit-yield tutorial with torch_lm(): apples and oranges from
# temperature, rainfall and humidity, two outputs fitted side by side
# (W is 2 x 3, b has two entries) by stochastic gradient descent, then
# compared with lm(cbind(apples, oranges) ~ ...).
#
#   Rscript examples/fruit_yield.R [--plot-dir DIR]
#
# Figures go to --plot-dir, else $TORCHLINREG_PLOT_DIR, else a temporary
# directory. Needs `make deps` (or install_torchlinreg()) first.
library(torchlinreg)

plot_dir <- function() {
  args <- commandArgs(trailingOnly = TRUE)
  at <- match("--plot-dir", args)
  dir <- if (!is.na(at) && length(args) > at) args[at + 1] else Sys.getenv("TORCHLINREG_PLOT_DIR", "")
  if (!nzchar(dir)) dir <- file.path(tempdir(), "fruit_yield")
  dir.create(dir, showWarnings = FALSE, recursive = TRUE)
  dir
}

print(fruit)

# Full-batch SGD with momentum on standardized columns. The tutorial's
# raw-scale SGD (lr = 1e-5 for 100 epochs) stops far from the least-squares
# answer; standardizing lets a plain learning rate reach it.
fit <- torch_lm(cbind(apples, oranges) ~ temperature + rainfall + humidity, data = fruit,
                optimizer = "sgd", lr = 0.05, momentum = 0.9, seed = 1,
                precondition = "standardize")  # the tutorial's z-scored columns
print(fit)
print(summary(fit))

predicted <- predict(fit, fruit)
print(cbind(fruit[c("apples", "oranges")], round(predicted, 2)))

path <- file.path(plot_dir(), "fruit_yield_loss.png")
grDevices::png(path, width = 900, height = 600)
plot(fit, which = "loss")
grDevices::dev.off()
cat("saved", path, "\n")

comparison <- compare_lm(fit)
print(comparison, digits = 10)
cat(sprintf("max relative difference from lm(): coefficients %.3g, standard errors %.3g\n",
            max(comparison$rel_diff_lm), max(comparison$se_rel_diff)))
