"""The PyTorch minibatch SGD tutorial, with torchlinreg, and its broadcasting pitfall.

Simulated data as the tutorial's generate_experiment (1,000 rows, 4
multivariate-normal predictors, standard-normal coefficients, noise sd
0.1); minibatches of 128 rows, SGD with lr 0.01, 100 epochs, a bias term
as nn.Linear has. Minibatch SGD with a constant learning rate never settles
exactly: it keeps moving by an amount set by the gradient noise. So the
tolerance here is statistical: every coefficient must lie within
SE_TOLERANCE standard errors (lm()'s) of lm()'s estimate, far inside the
uncertainty of the estimate itself.

Then the pitfall the tutorial warns of: with y of shape [n] and
predictions of shape [n, 1], torch's (y - pred) broadcasts to [n, n] and
gives a wrong loss without any error. torchlinreg takes y as [n] and
reshapes it once, and its loss refuses mismatched shapes.

    python examples/sgd_simulated.py [--seed 1]
"""
import argparse
import sys

import numpy as np
import torch

import torchlinreg
from torchlinreg.errors import ShapeError
from torchlinreg.engine.loss import squared_error_by_output
from torchlinreg.interop.compare import compare_lm

SE_TOLERANCE = 0.1


def fit_tutorial(seed):
    X, y, true_coef = torchlinreg.simulate(1000, 4, noise=0.1, seed=seed)
    fit = torchlinreg.fit(X, y, optimizer="sgd", lr=0.01, batch_size=128, epochs=100,
                          seed=seed, verbose=False, precondition="standardize")
    return X, y, true_coef, fit


def show_comparison(fit, true_coef):
    try:
        table = compare_lm(fit)
        note = f"lm() from {table.attrs['r_version']}"
    except ImportError as error:
        print(f"lm() not available ({error}); comparing with exact least squares only")
        return None
    table["true"] = np.concatenate([[0.0], true_coef])
    print(f"Coefficients: torchlinreg (SGD, batch 128, lr 0.01, 100 epochs) beside {note}, "
          "exact least squares and the true values")
    shown = table[["term", "estimate", "lm", "exact", "true", "lm_std_error", "diff_in_se"]]
    print(shown.to_string(index=False, float_format="{:.12g}".format))
    return table


def show_pitfall(X, y, fit):
    """Torch's own broadcasting gives a [n, n] 'loss'; torchlinreg's shapes cannot."""
    n = len(y)
    x_t = torch.as_tensor(X)
    y_t = torch.as_tensor(y)  # shape [n], as a numpy vector becomes
    exact = torchlinreg.ols(X, y)
    pred = x_t @ torch.as_tensor(exact.coef)[:, None] + exact.intercept  # [n, 1]
    broadcast = y_t - pred
    wrong = float(broadcast.pow(2).mean())
    right = float((y_t[:, None] - pred).pow(2).mean())
    print(f"y has shape {list(y_t.shape)}, predictions {list(pred.shape)}; "
          f"torch's (y - pred) has shape {list(broadcast.shape)}")
    print(f"torch (y - pred).pow(2).mean() = {wrong:.10g}   <- wrong, silently")
    print(f"correct mean squared error    = {right:.10g}")
    print(f"torchlinreg fit with y of shape [{n}]: final training loss {fit.loss():.10g}, "
          f"exact least-squares loss {fit.loss(exact=True):.10g}")
    try:
        squared_error_by_output(pred, y_t)
        refused = False
        print("torchlinreg.engine.loss.squared_error_by_output accepted mismatched shapes (unexpected)")
    except ShapeError as error:
        refused = True
        print(f"torchlinreg.engine.loss.squared_error_by_output(pred, y) raised ShapeError: {error}")
    return wrong, right, refused


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--plot-dir", help="unused; accepted so run_all.py can pass it to every example")
    args = parser.parse_args(argv)

    X, y, true_coef, fit = fit_tutorial(args.seed)
    print(f"simulate(1000, 4, noise=0.1, seed={args.seed}); true coefficients "
          + ", ".join(f"{c:.6g}" for c in true_coef))
    print(f"{fit.n_iter} epochs, {fit.n_steps} minibatch updates, stop reason {fit.stop_reason}")
    print()
    table = show_comparison(fit, true_coef)
    print()
    wrong, right, refused = show_pitfall(X, y, fit)
    print()
    if table is not None:
        worst = float(table["diff_in_se"].max())
        print(f"max |torchlinreg - lm()| in lm() standard errors: {worst:.3g} "
              f"(tolerance {SE_TOLERANCE:g})")
    else:
        compare = fit.compare()
        se = fit.inference.std_error[0]
        worst = float((compare["abs_diff"].to_numpy()[:-1] / se).max())
        print(f"max |torchlinreg - exact| in standard errors: {worst:.3g} "
              f"(tolerance {SE_TOLERANCE:g})")
    loss_ok = abs(fit.loss() - right) <= 1e-3 * right and wrong > 1.5 * right
    ok = worst <= SE_TOLERANCE and refused and loss_ok
    print(f"RESULT: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
