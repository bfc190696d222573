# Builds data/*.rda from the CSV files the Python package ships, joined and
# filtered exactly as torchlinreg.datasets does. Run from the repository root:
#   Rscript data-raw/datasets.R
csv <- function(name) file.path("python", "torchlinreg", "datasets", "data", name)

# rTorch's fruit-yield data: five regions, listed three times.
inputs <- rbind(c(73, 67, 43), c(91, 88, 64), c(87, 134, 58), c(102, 43, 37), c(69, 96, 70))
targets <- rbind(c(56, 70), c(81, 101), c(119, 133), c(22, 37), c(103, 119))
fruit <- as.data.frame(cbind(inputs, targets)[rep(1:5, 3), ])
names(fruit) <- c("temperature", "rainfall", "humidity", "apples", "oranges")
rownames(fruit) <- NULL

one_variable <- data.frame(x = c(1, 2, 3, 3.5), y = c(2, 4, 6, 7.5))

# The R torch tutorial: rankings left-joined to races on race_year_id,
# winners only, four columns, complete rows.
race <- utils::read.csv(csv("race.csv"))
rankings <- utils::read.csv(csv("ultra_rankings_subset.csv"))
rankings$.row <- seq_len(nrow(rankings))
joined <- merge(rankings, race, by = "race_year_id", all.x = TRUE, sort = FALSE)
joined <- joined[order(joined$.row), ]
winners <- joined[!is.na(joined$rank) & joined$rank == 1,
                  c("time_in_seconds", "distance", "elevation_gain", "elevation_loss")]
ultra_winners <- winners[stats::complete.cases(winners), ]
ultra_winners[] <- lapply(ultra_winners, as.numeric)
rownames(ultra_winners) <- NULL

save(fruit, file = "data/fruit.rda", compress = "xz", version = 2)
save(one_variable, file = "data/one_variable.rda", compress = "xz", version = 2)
save(ultra_winners, file = "data/ultra_winners.rda", compress = "xz", version = 2)
