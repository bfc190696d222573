"""The tutorials' data sets shipped with the package."""
from importlib import resources

import numpy as np
import pandas as pd
import pytest

import torchlinreg as tl


def test_fruit():
    fruit = tl.datasets.fruit()
    assert list(fruit.columns) == ["temperature", "rainfall", "humidity", "apples", "oranges"]
    assert fruit.shape == (15, 5) and (fruit.dtypes == "float64").all()
    assert fruit.iloc[0].tolist() == [73, 67, 43, 56, 70]
    assert fruit.iloc[4].tolist() == [69, 96, 70, 103, 119]
    # Five regions listed three times.
    pd.testing.assert_frame_equal(fruit.iloc[:5].reset_index(drop=True),
                                  fruit.iloc[10:].reset_index(drop=True))


def test_one_variable():
    data = tl.datasets.one_variable()
    assert data["x"].tolist() == [1.0, 2.0, 3.0, 3.5]
    assert data["y"].tolist() == [2.0, 4.0, 6.0, 7.5]


def test_ultra_winners_default(ultra):
    assert list(ultra.columns) == ["time_in_seconds", "distance", "elevation_gain", "elevation_loss"]
    assert ultra.shape == (198, 4)
    assert not ultra.isna().any().any() and (ultra.dtypes == "float64").all()
    assert (ultra["time_in_seconds"] > 0).all() and (ultra["elevation_loss"] <= 0).all()
    np.testing.assert_array_equal(ultra.index, np.arange(198))


def test_ultra_winners_from_explicit_paths_equals_default(ultra):
    data = resources.files("torchlinreg.datasets").joinpath("data")
    explicit = tl.datasets.ultra_winners(race=data / "race.csv",
                                         rankings=data / "ultra_rankings_subset.csv")
    pd.testing.assert_frame_equal(explicit, ultra)


def test_ultra_winners_join_and_filter(tmp_path):
    pd.DataFrame({"race_year_id": [1, 2, 3], "distance": [100.0, 160.0, np.nan],
                  "elevation_gain": [1000.0, 2000.0, 500.0],
                  "elevation_loss": [-1000.0, -2000.0, -500.0]}).to_csv(tmp_path / "race.csv", index=False)
    pd.DataFrame({"race_year_id": [1, 1, 2, 3, 4], "rank": [1, 2, 1, 1, 1],
                  "time_in_seconds": [50.0, 60.0, 70.0, 80.0, 90.0]}).to_csv(tmp_path / "r.csv", index=False)
    winners = tl.datasets.ultra_winners(tmp_path / "race.csv", tmp_path / "r.csv")
    # Rank 1 only; race 3 (missing distance) and race 4 (no race row) dropped.
    assert winners["time_in_seconds"].tolist() == [50.0, 70.0]
    assert winners["distance"].tolist() == [100.0, 160.0]


@pytest.mark.parametrize("name", ["fruit", "one_variable", "ultra_winners"])
def test_each_call_returns_a_fresh_frame(name):
    make = getattr(tl.datasets, name)
    first = make()
    first.iloc[0, 0] = -1.0
    assert make().iloc[0, 0] != -1.0
