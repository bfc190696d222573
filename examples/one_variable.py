"""The one-variable PyTorch tutorial: x = 1, 2, 3, 3.5 and y = 2, 4, 6, 7.5.

One predictor, one output, and the tutorial's regression-line plot (the
data, the fitted line, and the exact least-squares line dashed). The
default settings (Adam, lr 0.1, standardized, stopped on the gradient
norm) must match lm() to TOLERANCE relative; the tutorial's own settings
(SGD, lr 0.01, 100 steps on the raw data) are shown for contrast: they
stop long before the solution, which is why they are not the defaults.

    python examples/one_variable.py [--plot-dir DIR]
"""
import argparse
import sys
import tempfile
import warnings
from pathlib import Path

import torchlinreg
from torchlinreg.results.plotting import plot_line
from torchlinreg.interop.compare import compare_lm

TOLERANCE = 1e-8


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--plot-dir", help="where to save the plot (default: a new temp dir)")
    args = parser.parse_args(argv)

    data = torchlinreg.datasets.one_variable()
    fit = torchlinreg.fit(data[["x"]], data["y"], seed=args.seed, verbose=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", torchlinreg.ConvergenceWarning)
        tutorial = torchlinreg.fit(data[["x"]], data["y"], optimizer="sgd", lr=0.01, epochs=100,
                                   standardize=False, init="zeros", seed=args.seed, verbose=False)
    print("y ~ x on x = 1, 2, 3, 3.5 and y = 2, 4, 6, 7.5")
    print(f"default fit: {fit.settings['optimizer']}, lr {fit.settings['lr']:g}, "
          f"{fit.n_steps} steps, converged {fit.converged}")
    print()
    try:
        table = compare_lm(fit)
        reference, note = "lm", f"lm() from {table.attrs['r_version']}"
    except ImportError as error:
        print(f"lm() not available ({error}); comparing with exact least squares only")
        table, reference, note = None, "exact", "exact least squares"
    if table is not None:
        print(f"Coefficients: torchlinreg beside {note} and exact least squares")
        shown = table[["term", "estimate", "lm", "exact", "rel_diff_lm", "rel_diff_exact"]]
        print(shown.to_string(index=False, float_format="{:.12g}".format))
        worst = float(table["rel_diff_lm"].max())
    else:
        compare = fit.compare()
        print(compare.to_string(index=False, float_format="{:.12g}".format))
        worst = float(compare["rel_diff"].iloc[:-1].max())
    tut = tutorial.compare()
    print()
    print(f"the tutorial's settings (SGD, lr 0.01, 100 steps, raw data): intercept "
          f"{tutorial.intercept:.6g}, slope {tutorial.coef[0]:.6g}; max relative difference from "
          f"exact {tut['rel_diff'].iloc[:-1].max():.3g}, converged {tutorial.converged}")

    plot_dir = Path(args.plot_dir or tempfile.mkdtemp(prefix="torchlinreg-one-variable-"))
    plot_dir.mkdir(parents=True, exist_ok=True)
    path = plot_dir / "one_variable_line.png"
    plot_line(fit, data["x"], data["y"], path)
    print(f"regression-line plot: {path}")
    print()
    ok = worst <= TOLERANCE and fit.converged
    print(f"max relative difference from {reference}: {worst:.3g} (tolerance {TOLERANCE:g})")
    print(f"RESULT: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
