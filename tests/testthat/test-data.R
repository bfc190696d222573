test_that("the data sets have the documented shape", {
  expect_identical(dim(fruit), c(15L, 5L))
  expect_identical(dim(one_variable), c(4L, 2L))
  expect_identical(names(ultra_winners),
                   c("time_in_seconds", "distance", "elevation_gain", "elevation_loss"))
  expect_false(anyNA(ultra_winners))
})

test_that("the R data sets equal the Python ones", {
  skip_if_no_python()
  ds <- reticulate::import("torchlinreg.datasets")
  for (name in c("fruit", "one_variable", "ultra_winners")) {
    py <- as.data.frame(lapply(ds[[name]](), as.vector))
    r <- getExportedValue("torchlinreg", name)
    expect_identical(names(py), names(r), label = name)
    expect_equal(as.list(py), as.list(r), tolerance = 0, label = name)
  }
})
