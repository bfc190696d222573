"""The fit path imports what a fit needs and nothing more (issue 19).

A fresh Python fits plain arrays; scipy.stats (about 0.4 s to import) and
matplotlib are imported only when inference, a summary or a plot asks for
them. pandas is still on the path: the fit's history is a DataFrame.
"""
import subprocess
import sys
import textwrap

CHILD = textwrap.dedent("""
    import sys
    import numpy as np
    import torchlinreg as tl
    X = np.random.default_rng(0).standard_normal((50, 3))
    fit = tl.fit(X, X.sum(1), seed=1)
    fit.predict(X)
    # (pyarrow and tqdm are left out: pandas and torch import them when installed.)
    print(" ".join(name for name in ("scipy.stats", "matplotlib", "sklearn", "formulaic",
                                     "rpy2") if name in sys.modules))
    fit.inference.p_value
    print("scipy.stats" in sys.modules)
""")


def test_a_fit_of_arrays_imports_no_scipy_stats_matplotlib_or_optional_packages():
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    loaded, after_inference = done.stdout.rstrip("\n").split("\n")
    assert loaded == ""
    assert after_inference == "True"  # and inference still gets it when asked
