test_that("Python errors arrive as classed R conditions with the Python message", {
  skip_if_no_python()
  e <- tryCatch(torch_lm(dist ~ speed, data = cars, lr = -1), error = identity)
  expect_s3_class(e, "torchlinreg_option_error")
  expect_s3_class(e, "torchlinreg_error")
  expect_identical(e$python_type, "OptionError")
  expect_match(conditionMessage(e), "lr must be a positive finite number")
  expect_false(grepl("Traceback", conditionMessage(e)))
  expect_error(torch_lm(dist ~ speed, data = cars, optimizer = "nope"),
               class = "torchlinreg_option_error", regexp = "adam")
  expect_error(torch_lm(dist ~ speed, data = cars, weights = rep(-1, 50)),
               class = "torchlinreg_input_error", regexp = "non-negative")
  expect_error(torch_lm(dist ~ speed, data = cars, batch_size = 500),
               class = "torchlinreg_error", regexp = "batch_size")
})

test_that("a diverging fit raises torchlinreg_divergence with the history so far", {
  skip_if_no_python()
  e <- tryCatch(torch_lm(dist ~ speed, data = cars, optimizer = "sgd", lr = 1e4,
                         standardize = FALSE, seed = 1), error = identity)
  expect_s3_class(e, "torchlinreg_divergence")
  expect_s3_class(e, "torchlinreg_divergence_error")
  expect_s3_class(e, "torchlinreg_error")
  expect_match(conditionMessage(e), "diverged at step")
  expect_true(e$suggested_lr < 1e4)
  expect_s3_class(e$history, "data.frame")
  expect_true("speed" %in% names(e$history))
})

# A fresh R process, since Python cannot be changed once it runs.
run_fresh <- function(code, env) {
  rscript <- file.path(R.home("bin"), "Rscript")
  env <- c(env, R_LIBS = paste(.libPaths(), collapse = ":"))
  out <- withr::with_envvar(env, system2(rscript, c("-e", shQuote(code)), stdout = TRUE, stderr = TRUE))
  paste(out, collapse = "\n")
}

test_that("a missing Python gives one error naming install_torchlinreg() and torchlinreg_config()", {
  out <- run_fresh(paste(
    "e <- tryCatch(torchlinreg::torch_lm(dist ~ speed, data = cars), error = identity);",
    "cat(class(e), '\\n'); cat(conditionMessage(e), '\\n');",
    "cat('ORDER', torchlinreg:::find_python()$source, '\\n');",
    "Sys.unsetenv('TORCHLINREG_PYTHON'); Sys.setenv(RETICULATE_PYTHON = '/b/python');",
    "cat('ORDER', torchlinreg:::find_python()$source, '\\n')"),
    c(TORCHLINREG_PYTHON = "/nonexistent/python"))
  expect_match(out, "torchlinreg_python_missing")
  expect_match(out, "install_torchlinreg()", fixed = TRUE)
  expect_match(out, "torchlinreg_config()", fixed = TRUE)
  expect_match(out, "ORDER TORCHLINREG_PYTHON \nORDER RETICULATE_PYTHON", fixed = TRUE)
})

test_that("the checkout's .venv is found by walking up", {
  repo <- withr::local_tempdir()
  writeLines("Package: torchlinreg", file.path(repo, "DESCRIPTION"))
  dir.create(file.path(repo, ".venv", "bin"), recursive = TRUE)
  file.create(file.path(repo, ".venv", "bin", "python"))
  dir.create(file.path(repo, "a", "b"), recursive = TRUE)
  expect_identical(torchlinreg:::find_repository(file.path(repo, "a", "b")),
                   normalizePath(repo))
  expect_null(torchlinreg:::find_repository(tempdir()))
})

test_that("torchlinreg_config() reports what it found", {
  skip_if_no_python()
  out <- capture.output(info <- torchlinreg_config())
  expect_true(info$available)
  expect_match(paste(out, collapse = "\n"), "torch:")
  expect_identical(info$torchlinreg, as.character(utils::packageVersion("torchlinreg")))
})
