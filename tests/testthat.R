library(testthat)
library(torchlinreg)

test_check("torchlinreg")
