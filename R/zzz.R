.onLoad <- function(libname, pkgname) {
  # Nothing starts here: the bridge module is imported on first use, after
  # python_bridge() has chosen the Python (see find_python()).
  .state$bridge <- reticulate::import(BRIDGE_MODULE, delay_load = TRUE, convert = TRUE)
  .state$ready <- FALSE
}

#' @importFrom stats coef vcov confint fitted residuals nobs formula model.frame
#' @importFrom stats model.matrix weights deviance predict logLik extractAIC anova
#' @importFrom stats variable.names hatvalues influence cooks.distance rstandard rstudent
#' @importFrom stats dfbeta dfbetas effects proj alias add1
#' @importFrom graphics plot
NULL
