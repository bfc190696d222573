"""The R torch ultramarathon tutorial, in Python with torchlinreg (`make demo`).

Winning time of each race regressed on its distance, elevation gain and
elevation loss; Adam with lr 0.1 on the full batch, 20% of the races held
out to track a validation loss, every parameter tracked at every step.
The coefficients are printed beside lm()'s on the same training rows and
the exact least-squares solution; the script exits with status 1 if any
coefficient differs from lm() (or, without R, from the exact solution) by
more than TOLERANCE relative.

    python examples/demo.py [--seed 1] [--plot-dir DIR]
"""
import argparse
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

import torchlinreg
from torchlinreg.interop.compare import compare_lm

# float64 with the default tolerance reaches lm() to about 1e-10; the
# package promises 1e-8 (README, "How results are checked").
TOLERANCE = 1e-8
PREDICTORS = ["distance", "elevation_gain", "elevation_loss"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--plot-dir", help="where to save the figures (default: a new temp dir)")
    args = parser.parse_args(argv)

    winners = torchlinreg.datasets.ultra_winners()
    print(f"Ultramarathon winners: {len(winners)} races (time_in_seconds ~ "
          f"{' + '.join(PREDICTORS)})")
    start = time.perf_counter()
    # The tutorial's standardized columns (precondition="standardize"), so its loss curves.
    fit = torchlinreg.fit(winners[PREDICTORS], winners["time_in_seconds"], optimizer="adam",
                          lr=0.1, validation=0.2, seed=args.seed, verbose=False,
                          precondition="standardize")
    seconds = time.perf_counter() - start
    print(f"Adam, lr 0.1, full batch, validation 0.2, seed {args.seed}: "
          f"{len(fit.train_index)} training rows, {len(fit.valid_index)} validation rows")
    print()

    try:
        table = compare_lm(fit)
        reference, note = "lm", f"lm() from {table.attrs['r_version']}, on the training rows"
    except ImportError as error:
        table, reference, note = _exact_only(fit), "exact", f"lm() not available ({error})"
    print(f"Coefficients: torchlinreg beside {note} and exact least squares")
    shown = table[["term", "estimate", "lm", "exact", "rel_diff_lm", "rel_diff_exact"]]
    print(shown.to_string(index=False, float_format="{:.12g}".format))
    print()
    history = fit.history
    print(f"final training loss: {history['loss'].iloc[-1]:.10g}")
    print(f"final validation loss: {history['val_loss'].iloc[-1]:.10g}")
    print(f"steps: {fit.n_steps}  converged: {fit.converged}  stop reason: {fit.stop_reason}  "
          f"gradient norm: {history['grad_norm'].iloc[-1]:.3g} of its start  "
          f"time: {seconds:.2f} s")

    plot_dir = Path(args.plot_dir or tempfile.mkdtemp(prefix="torchlinreg-demo-"))
    plot_dir.mkdir(parents=True, exist_ok=True)
    path = plot_dir / "ultramarathon_fit.png"
    fit.plot(path)
    print(f"plots (losses; parameter paths with the exact values dashed): {path}")
    print()
    print(fit.summary())
    print()
    worst = float(table[f"rel_diff_{reference}"].max())
    ok = worst <= TOLERANCE and fit.converged
    print(f"max relative difference from {reference}: {worst:.3g} (tolerance {TOLERANCE:g})")
    print(f"RESULT: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


def _exact_only(fit):
    table = fit.compare()
    table = table[table["term"] != "loss"].copy()
    table["lm"] = float("nan")
    table["rel_diff_lm"] = float("nan")
    table["rel_diff_exact"] = table["rel_diff"]
    return table.reset_index(drop=True)


if __name__ == "__main__":
    pd.set_option("display.width", 140)
    sys.exit(main())
