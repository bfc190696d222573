#' Fruit yields (the rTorch tutorial)
#'
#' Apples and oranges harvested in five regions with their temperature,
#' rainfall and humidity, the five rows listed three times, as in the
#' rTorch linear-regression tutorial: a model with two outputs.
#'
#' @format A data frame with 15 rows and 5 numeric columns: `temperature`,
#'   `rainfall`, `humidity` (inputs), `apples`, `oranges` (outputs).
#' @source The rTorch tutorial; the same values as the Python
#'   `torchlinreg.datasets.fruit()`.
#' @examples
#' lm(cbind(apples, oranges) ~ temperature + rainfall + humidity, data = fruit)
"fruit"

#' One predictor, four points (the PyTorch one-variable tutorial)
#'
#' @format A data frame with 4 rows: `x` = 1, 2, 3, 3.5 and `y` = 2, 4, 6, 7.5.
#' @source The same values as the Python `torchlinreg.datasets.one_variable()`.
#' @examples
#' lm(y ~ x, data = one_variable)
"one_variable"

#' Winning times of ultramarathons (the R torch tutorial)
#'
#' Each race's winning time with the race's distance and elevation, from
#' the TidyTuesday ultra trail running data (2021-10-26), joined and
#' filtered as the R torch tutorial does: rankings left-joined to races on
#' `race_year_id`, rank 1 only, four columns, rows with missing values
#' dropped. Built from the shipped subset of the rankings (189 races), so it
#' has 198 rows rather than the tutorial's 1,237; the Python
#' `torchlinreg.datasets.ultra_winners()` gives the same rows and can read
#' the full files.
#'
#' @format A data frame with 198 rows and 4 numeric columns:
#' \describe{
#'   \item{time_in_seconds}{winning time}
#'   \item{distance}{race distance (km)}
#'   \item{elevation_gain}{total ascent (m)}
#'   \item{elevation_loss}{total descent (m, negative)}
#' }
#' @source TidyTuesday 2021-10-26, \url{https://github.com/rfordatascience/tidytuesday}
#'   (`race.csv`, `ultra_rankings.csv`), from the International Trail
#'   Running Association via Benjamin Nowak.
#' @examples
#' summary(lm(time_in_seconds ~ ., data = ultra_winners))
"ultra_winners"
