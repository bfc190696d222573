# Tests need Python with torch and torchlinreg. Where TORCHLINREG_PYTHON is
# set (make test, R CMD check from the Makefile) a missing Python fails the
# tests; elsewhere they are skipped with the reason.
skip_if_no_python <- function() {
  if (nzchar(Sys.getenv("TORCHLINREG_PYTHON"))) return(invisible(TRUE))
  skip_if_not(torchlinreg_available(), "no Python with torch and torchlinreg (see torchlinreg_config())")
}

# Element-wise relative error, NA where the reference is NA.
rel_error <- function(actual, expected) {
  actual <- as.vector(actual)
  expected <- as.vector(expected)
  stopifnot(length(actual) == length(expected), identical(is.na(actual), is.na(expected)))
  ok <- !is.na(expected)
  scale <- pmax(abs(expected[ok]), 1e-8 * max(abs(expected[ok]), 1e-300))
  max(c(0, abs(actual[ok] - expected[ok]) / scale))
}

expect_close <- function(actual, expected, rel = 1e-6) {
  err <- rel_error(actual, expected)
  expect(err <= rel, sprintf("relative error %.3g exceeds %g", err, rel))
  invisible(err)
}

# What summary.lm(), vcov() and confint() report, compared to relative `rel`:
# coefficients, standard errors, t values, sigma, R², adjusted R², F, df.
expect_summary_matches_lm <- function(fit, reference, rel, level = 0.95) {
  expect_identical(names(coef(fit)), names(coef(reference)))
  expect_close(coef(fit), coef(reference), rel)
  s <- summary(fit)
  r <- summary(reference)
  expect_close(s$coefficients[, 1:2], r$coefficients[, 1:2], rel)
  expect_close(s$coefficients[, 3], r$coefficients[, 3], rel)
  expect_close(s$sigma, r$sigma, rel)
  expect_close(s$r.squared, r$r.squared, rel)
  expect_close(s$adj.r.squared, r$adj.r.squared, rel)
  if (!is.null(r$fstatistic)) expect_close(s$fstatistic, r$fstatistic, rel)
  expect_equal(s$df, r$df)
  expect_close(vcov(fit), vcov(reference), rel)
  expect_close(confint(fit, level = level), confint(reference, level = level), rel)
}

# Everything lm() reports, compared to relative `rel`: the summary, fitted
# values, residuals, and predictions with both intervals.
expect_matches_lm <- function(fit, reference, newdata = NULL, rel = 1e-6) {
  expect_summary_matches_lm(fit, reference, rel)
  expect_close(fitted(fit), fitted(reference), rel)
  expect_close(residuals(fit), residuals(reference), rel)
  if (!is.null(newdata)) {
    for (interval in c("none", "confidence", "prediction")) {
      expect_close(predict(fit, newdata, interval = interval, level = 0.9),
                   suppressWarnings(predict(reference, newdata, interval = interval, level = 0.9)),
                   rel)
    }
    expect_close(predict(fit, newdata, se.fit = TRUE)$se.fit,
                 suppressWarnings(predict(reference, newdata, se.fit = TRUE))$se.fit, rel)
  }
}

# The source checkout holding these tests (with pyproject.toml), or NULL: the
# tests that need python/, tools/ or examples/ run only there.
repository <- function() {
  dir <- normalizePath(testthat::test_path("."), mustWork = FALSE)
  repeat {
    if (file.exists(file.path(dir, "pyproject.toml")) && file.exists(file.path(dir, "DESCRIPTION"))) {
      return(dir)
    }
    parent <- dirname(dir)
    if (identical(parent, dir)) return(NULL)
    dir <- parent
  }
}

# The Python the tests use (TORCHLINREG_PYTHON, set by make), or skip.
skip_if_no_real_python <- function() {
  python <- Sys.getenv("TORCHLINREG_PYTHON")
  skip_if_not(nzchar(python) && file.exists(python), "TORCHLINREG_PYTHON is not set to a Python")
  python
}

# A virtualenv at `dir`, without pip, that sees `base`'s packages (its
# site directories, with their .pth files: an editable torchlinreg is one):
# a second Python with torch in a fraction of a second.
make_sharing_virtualenv <- function(base, dir) {
  env <- "LD_LIBRARY_PATH="   # R's library path breaks some Pythons
  sites <- system2(base, c("-I", "-c", shQuote("import site; print('\\n'.join(site.getsitepackages()))")),
                   stdout = TRUE, env = env)
  status <- system2(base, c("-I", "-m", "venv", "--without-pip", shQuote(dir)), env = env)
  stopifnot(status == 0)
  own <- system2(file.path(dir, "bin", "python"),
                 c("-I", "-c", shQuote("import sysconfig; print(sysconfig.get_paths()['purelib'])")),
                 stdout = TRUE, env = env)
  writeLines(sprintf("import site; site.addsitedir(%s)", encodeString(sites, quote = "'")),
             file.path(own, "shared.pth"))
  invisible(dir)
}

# Fits that stop short of convergence on purpose warn; the tests check other things.
quiet <- function(expr) suppressWarnings(expr)
