test_that("install_torchlinreg() says what it needs when no checkout is found", {
  dir <- withr::local_tempdir()
  withr::local_dir(dir)
  expect_error(install_torchlinreg(), class = "torchlinreg_install_error",
               regexp = "install_torchlinreg\\(\"path/to/torchlinreg\"\\)")
})

test_that("the pins match requirements.txt", {
  repo <- repository()
  skip_if(is.null(repo), "not in a source checkout")
  pins <- readLines(file.path(repo, "requirements.txt"))
  # Every pin install_torchlinreg() uses is the one `make` uses.
  expect_true(all(torchlinreg:::PYTHON_REQUIREMENTS %in% pins))
  expect_true(all(c("torch==2.13.0", "numpy<2", "pandas<3", "pyarrow>=14,<21") %in%
                    torchlinreg:::PYTHON_REQUIREMENTS))
})
