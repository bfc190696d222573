"""The small data sets of the tutorials, shipped inside the package.

Each function returns a fresh pandas DataFrame.
"""
from importlib import resources

__all__ = ["fruit", "one_variable", "ultra_winners"]

_FRUIT_INPUTS = [(73, 67, 43), (91, 88, 64), (87, 134, 58), (102, 43, 37), (69, 96, 70)]
_FRUIT_TARGETS = [(56, 70), (81, 101), (119, 133), (22, 37), (103, 119)]


def _data_path(name):
    return resources.files(__package__).joinpath("data", name)


def fruit():
    """The rTorch fruit-yield data: 15 rows (five regions listed three times).

    Inputs ``temperature``, ``rainfall``, ``humidity``; targets ``apples``
    and ``oranges``.
    """
    import pandas as pd
    rows = [inputs + targets for inputs, targets in zip(_FRUIT_INPUTS, _FRUIT_TARGETS)] * 3
    return pd.DataFrame(rows, columns=["temperature", "rainfall", "humidity", "apples", "oranges"],
                        dtype="float64")


def one_variable():
    """The one-variable PyTorch tutorial: ``x`` = 1, 2, 3, 3.5 and ``y`` = 2, 4, 6, 7.5."""
    import pandas as pd
    return pd.DataFrame({"x": [1.0, 2.0, 3.0, 3.5], "y": [2.0, 4.0, 6.0, 7.5]})


def ultra_winners(race=None, rankings=None):
    """Winning times of ultramarathons with the race's distance and elevation.

    Joined and filtered as the R torch tutorial does: rankings left-joined
    to races on ``race_year_id``, rank 1 only, the columns
    ``time_in_seconds``, ``distance``, ``elevation_gain``,
    ``elevation_loss``, rows with missing values dropped.

    Parameters
    ----------
    race, rankings : str or path-like, optional
        The TidyTuesday 2021-10-26 files ``race.csv`` and
        ``ultra_rankings.csv``. By default the shipped copies are used: the
        complete race table and a 23,011-row subset of the rankings (189
        races), which give 198 winners; the full rankings give the
        tutorial's 1,237.

    Returns
    -------
    pandas.DataFrame
    """
    import pandas as pd
    race_table = pd.read_csv(race if race is not None else _data_path("race.csv"))
    ranking_table = pd.read_csv(rankings if rankings is not None
                                else _data_path("ultra_rankings_subset.csv"))
    joined = ranking_table.merge(race_table, on="race_year_id", how="left")
    columns = ["time_in_seconds", "distance", "elevation_gain", "elevation_loss"]
    winners = joined.loc[joined["rank"] == 1, columns].dropna()
    return winners.astype("float64").reset_index(drop=True)
