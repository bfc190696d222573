"""The fit path imports what a fit needs and nothing more (issue 19).

A fresh Python fits plain arrays; scipy (scipy.special, 0.2 s to import, for
p-values; scipy.stats, 0.5 s or more, for a summary's tests), pandas (0.5 s,
pyarrow with it) and matplotlib are imported only when inference, the history
as a DataFrame, a summary or a plot asks for them, and
``torch._dynamo`` (1 to 3 s, which torch.optim imports on an optimizer's
first construction and step) not at all (:mod:`torchlinreg.engine.stepping`).
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
    fit.to_dict()
    # (tqdm is left out: torch imports it when installed.)
    print(" ".join(name for name in ("scipy", "pandas", "pyarrow", "matplotlib", "sklearn",
                                     "formulaic", "rpy2", "torch._dynamo", "torch._inductor",
                                     "sympy") if name in sys.modules))
    fit.inference.p_value
    print("scipy.special" in sys.modules, "scipy.stats" in sys.modules)
    fit.history
    print("pandas" in sys.modules)
""")


def test_a_fit_of_arrays_imports_no_scipy_pandas_dynamo_matplotlib_or_optional_packages():
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    loaded, after_inference, after_history = done.stdout.rstrip("\n").split("\n")
    assert loaded == ""
    # and inference gets the t distribution when asked, from scipy.special (scipy.stats
    # takes several times as long to import)
    assert after_inference == "True False"
    assert after_history == "True"  # and the history is a DataFrame when read

