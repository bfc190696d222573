"""results/distributions.py: Student's t, F, chi² and the normal from scipy.special are
scipy.stats' own values, bit for bit, at the edges of their supports too."""
import numpy as np
from scipy import stats

from torchlinreg.results.distributions import (chi2_sf, f_sf, norm_quantile, norm_sf,
                                                t_quantile, t_sf)


def test_the_t_and_f_distributions_are_scipy_stats_bit_for_bit():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.standard_normal(500) * 10.0 ** rng.uniform(-3, 3, 500),
                        [0.0, -0.0, np.inf, -np.inf, np.nan, 1e300, -1e300, 5e-324]])
    q = np.concatenate([rng.uniform(0, 1, 200), [0.0, 1.0, 0.5, 0.975, np.nan, -0.1, 1.1]])
    for df in (1, 2, 7, 30, 1000, 10 ** 6, 2.5, 0, -1):
        assert np.array_equal(t_sf(x, df), stats.t.sf(x, df), equal_nan=True)
        assert np.array_equal(t_quantile(q, df), stats.t.ppf(q, df), equal_nan=True)
        for dfn in (1, 3):
            assert np.array_equal(f_sf(x, dfn, df), stats.f.sf(x, dfn, df), equal_nan=True)
        assert np.array_equal(chi2_sf(x, df), stats.chi2.sf(x, df), equal_nan=True)
    assert t_quantile(0.975, 10) == stats.t.ppf(0.975, 10)
    assert np.array_equal(norm_sf(x), stats.norm.sf(x), equal_nan=True)
    assert np.array_equal(norm_quantile(q), stats.norm.ppf(q), equal_nan=True)
    assert norm_quantile(0.975) == stats.norm.ppf(0.975)
