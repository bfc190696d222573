# The R scripts in examples/ (left out of the built package: these run
# from a source checkout only). Sourced here, in this R process, so that
# Python starts once; each must print its comparison with lm().
run_example <- function(name) {
  repo <- repository()
  skip_if(is.null(repo) || !file.exists(file.path(repo, "examples", name)),
          "examples/ is only in the source checkout")
  withr::local_envvar(TORCHLINREG_PLOT_DIR = withr::local_tempdir(.local_envir = parent.frame()))
  grDevices::pdf(NULL)
  on.exit(grDevices::dev.off(), add = TRUE)
  capture.output(source(file.path(repo, "examples", name), local = new.env()))
}

max_differences <- function(out) {
  line <- grep("^max relative difference from lm\\(\\)", out, value = TRUE)
  expect_length(line, 1)
  as.numeric(regmatches(line, gregexpr("[0-9.]+e?-?[0-9]*", line))[[1]])
}

test_that("examples/ultramarathon.R reproduces lm() on the training rows", {
  skip_if_no_python()
  out <- run_example("ultramarathon.R")
  expect_true(any(grepl("training rows: 159  validation rows: 39", out, fixed = TRUE)))
  expect_true(all(max_differences(out) < 1e-6))
  expect_true(any(grepl("ultramarathon_parameters.png", out, fixed = TRUE)))
})

test_that("examples/fruit_yield.R reproduces lm(cbind(apples, oranges) ~ ...)", {
  skip_if_no_python()
  out <- run_example("fruit_yield.R")
  expect_true(any(grepl("Response oranges", out, fixed = TRUE)))
  expect_true(all(max_differences(out) < 1e-6))
})
