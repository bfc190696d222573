#!/usr/bin/env bash
# Make sure R and the R packages torchlinreg needs are installed.
# Uses Debian's packages (CRAN is not reachable here); as root it installs
# them with apt-get, otherwise it prints the exact command to run.
set -euo pipefail
# broom, generics, sandwich, lmtest, car and tibble are Suggests: the tests
# run lm()'s ecosystem on torch_lm fits.
APT_PACKAGES="r-base-core r-base-dev r-cran-reticulate r-cran-testthat r-cran-roxygen2 r-cran-ggplot2 r-cran-jsonlite r-cran-withr r-cran-broom r-cran-generics r-cran-sandwich r-cran-lmtest r-cran-car r-cran-tibble r-cran-emmeans"
R_PACKAGES='c("reticulate", "testthat", "roxygen2", "ggplot2", "jsonlite", "withr", "broom", "generics", "sandwich", "lmtest", "car", "tibble")'

have_all() {
  command -v Rscript >/dev/null 2>&1 &&
    Rscript -e "quit(status = !all(sapply($R_PACKAGES, requireNamespace, quietly = TRUE)))" >/dev/null 2>&1
}

have_all && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends $APT_PACKAGES ||
    { apt-get update && apt-get install -y --no-install-recommends $APT_PACKAGES; }
  have_all && exit 0
fi
echo "torchlinreg needs R 4.x with reticulate, testthat, roxygen2, ggplot2, jsonlite, withr, broom, generics, sandwich, lmtest, car and tibble." >&2
echo "On Debian/Ubuntu, as root:  apt-get install -y $APT_PACKAGES" >&2
exit 1
