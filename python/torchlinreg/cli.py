"""The ``torchlinreg`` command: ``fit`` a CSV file, or ``simulate`` the SGD tutorial's data.

Errors print one line, ``torchlinreg: error: ...``, and exit with status 2.
"""
import argparse
import json
import math
import os
import sys
import warnings

EXAMPLES = """examples:
  torchlinreg simulate --n-obs 1000 --n-var 4 --noise 0.1 --seed 1 --out data.csv
  torchlinreg fit data.csv --formula "y ~ x1 + x2 + x3 + x4" --seed 1 --lm
  torchlinreg fit data.csv --response y --predictors x1,x2 --optimizer sgd --lr 0.01 \\
      --batch-size 128 --epochs 100 --validation 0.2 --out fit.json --plot fit.png
  torchlinreg simulate --seed 1 | torchlinreg fit - --response y --json

'-' is standard input for a data file and standard output for --out.
"""


def _parser():
    parser = argparse.ArgumentParser(
        prog="torchlinreg",
        description="Linear regression by gradient descent in PyTorch, checked against exact "
                    "least squares and R's lm().",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    from ._version import __version__
    parser.add_argument("--version", action="version", version=f"torchlinreg {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _fit_parser(commands)
    _simulate_parser(commands)
    return parser


def _fit_parser(commands):
    p = commands.add_parser(
        "fit", help="fit a linear model to a CSV file and compare it with the exact solution",
        description="Fit a linear model to a CSV file by gradient descent; print the summary "
                    "(estimates, standard errors, t and p values, R², F) and the comparison with "
                    "exact least squares (and with R's lm() when --lm is given).",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data", help="CSV file with a header row ('-': standard input)")
    model = p.add_argument_group("model (give --formula, or --response with optional --predictors)")
    model.add_argument("--formula", help='R-style formula, e.g. "y ~ x1 + C(group) + x1:x2" '
                       "(needs formulaic); rows with missing values are dropped")
    model.add_argument("--response", help="response column(s), comma-separated")
    model.add_argument("--predictors", help="predictor columns, comma-separated "
                       "(default: every other numeric column)")
    model.add_argument("--no-intercept", action="store_true",
                       help="fit without intercept (with --formula write '- 1' instead)")
    model.add_argument("--weights", help="column of observation weights, as lm(weights = )")
    opt = p.add_argument_group("optimization (defaults as torchlinreg.fit)")
    opt.add_argument("--optimizer", default="adam",
                     help="sgd, adam, adamw, rmsprop, adagrad or lbfgs (default adam)")
    opt.add_argument("--lr", type=float, help="learning rate (default per optimizer: 0.1 for adam)")
    opt.add_argument("--epochs", type=int, help="most steps (full batch, default 10000) or "
                     "epochs (minibatch, default 100)")
    opt.add_argument("--batch-size", type=int, help="minibatch size (default: full batch)")
    opt.add_argument("--no-shuffle", action="store_true", help="keep the row order in minibatches")
    opt.add_argument("--validation", type=float, default=0.0,
                     help="fraction of rows held out to track a validation loss (default 0)")
    opt.add_argument("--seed", type=int, help="seed for the split, batches and starts")
    opt.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    opt.add_argument("--tol", type=float, help="stop when the gradient norm falls below tol "
                     "times its start (default 1e-14 in float64 with qr, else 1e-12; 3e-8 in "
                     "float32, 3e-7 for SGD)")
    opt.add_argument("--precondition", choices=["qr", "standardize", "none"],
                     help="what the optimizer works on: the orthonormalized design (qr, the "
                     "default), z-scored columns (standardize, the tutorials'), raw columns")
    opt.add_argument("--no-standardize", action="store_true",
                     help="optimize on the raw columns (the same as --precondition none)")
    opt.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                     help="extra torch optimizer option, e.g. momentum=0.9 (repeatable)")
    out = p.add_argument_group("output")
    out.add_argument("--out", help="write the fit (coefficients, inference, statistics, settings, "
                     "history) as JSON to this file ('-': standard output, the report then "
                     "goes to standard error)")
    out.add_argument("--json", action="store_true",
                     help="print the fit as JSON on standard output, and nothing else")
    out.add_argument("--plot", help="save the loss and parameter-path figure to this file "
                     "(png, pdf, svg; needs matplotlib)")
    out.add_argument("--lm", action="store_true",
                     help="also fit R's lm() on the training rows (needs R and rpy2) and compare")
    p.set_defaults(run=run_fit)


def _simulate_parser(commands):
    p = commands.add_parser(
        "simulate", help="write the minibatch SGD tutorial's simulated data as CSV",
        description="Draw X (multivariate normal, identity covariance), standard-normal true "
                    "coefficients and y = X beta + noise, as the SGD tutorial's "
                    "generate_experiment; write columns x1..xp, y; print the true coefficients.")
    p.add_argument("--n-obs", type=int, default=1000, help="rows (default 1000)")
    p.add_argument("--n-var", type=int, default=4, help="predictors (default 4)")
    p.add_argument("--noise", type=float, default=0.1, help="noise standard deviation (default 0.1)")
    p.add_argument("--seed", type=int, help="random seed")
    p.add_argument("--out", default="-", help="CSV file to write (default '-': standard output)")
    p.set_defaults(run=run_simulate)


class CliError(Exception):
    """A user error: printed on one line, exit status 2."""


def _columns(text):
    return [c.strip() for c in text.split(",") if c.strip()] if text else []


def _option_value(text):
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def _optimizer_options(pairs):
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CliError(f"--option needs KEY=VALUE; got {pair!r}.")
        options[key.strip()] = _option_value(value.strip())
    return options


def _read_csv(path):
    import pandas as pd
    try:
        return pd.read_csv(sys.stdin if path == "-" else path)
    except FileNotFoundError:
        raise CliError(f"no such file: {path}") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise CliError(f"could not read {path} as CSV: {error}") from None


def _fit_options(args):
    return dict(optimizer=args.optimizer, lr=args.lr, epochs=args.epochs,
                batch_size=args.batch_size, shuffle=not args.no_shuffle,
                validation=args.validation, seed=args.seed, dtype=args.dtype, tol=args.tol,
                standardize=not args.no_standardize, precondition=args.precondition,
                verbose=False,
                **_optimizer_options(args.option))


def _fit(args, data):
    import torchlinreg
    options = _fit_options(args)
    if args.formula:
        if args.response or args.predictors:
            raise CliError("give either --formula or --response/--predictors, not both.")
        if args.no_intercept:
            raise CliError("with --formula, write '- 1' in the formula instead of --no-intercept.")
        return torchlinreg.fit_formula(args.formula, data, weights=args.weights, **options)
    if not args.response:
        raise CliError("give --formula \"y ~ x1 + x2\" or --response y [--predictors x1,x2].")
    response = _columns(args.response)
    exclude = set(response) | ({args.weights} if args.weights else set())
    predictors = _columns(args.predictors) or [
        c for c in data.columns if c not in exclude and data[c].dtype.kind in "biuf"]
    missing = [c for c in response + predictors + ([args.weights] if args.weights else [])
               if c not in data.columns]
    if missing:
        raise CliError(f"columns {missing} are not in the data; it has {list(data.columns)}.")
    y = data[response[0]] if len(response) == 1 else data[response]
    weights = data[args.weights] if args.weights else None
    return torchlinreg.fit(data[predictors], y, intercept=not args.no_intercept,
                           weights=weights, **options)


def _lm_comparison(fit):
    """lm() on the training rows beside the fit, or the reason it is not available."""
    from .interop.compare import compare_lm
    try:
        table = compare_lm(fit)
    except ImportError as error:
        return None, f"lm() comparison skipped: {error}"
    return table, table.attrs["r_version"]


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "tolist"):
        return _jsonable(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _record(fit, extra):
    """The fit as JSON-ready values."""
    record = fit.to_dict()
    record["term_names"] = fit.term_names
    record["inference"] = fit.inference.to_dict()
    record["statistics"] = {"nobs": fit.nobs, "llf": fit.llf, "aic": fit.aic, "bic": fit.bic,
                            "condition_number": fit.condition_number}
    record["compare"] = fit.compare().to_dict(orient="records")
    record.update(extra)
    return _jsonable(record)


def _write_json(record, path):
    if path == "-":
        json.dump(record, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return
    with open(path, "w") as handle:
        json.dump(record, handle, indent=1)


def run_fit(args):
    import pandas as pd
    data = _read_csv(args.data)
    fit = _fit(args, data)
    # Standard output carries the JSON alone with --json or --out -; the report goes
    # to standard error with --out -, nowhere with --json.
    quiet = args.json
    report = sys.stderr if args.out == "-" else sys.stdout

    def say(*lines):
        if not quiet:
            print(*lines, file=report)

    say(fit.summary())
    say()
    say("Comparison with exact least squares (float64 QR):")
    with pd.option_context("display.float_format", "{:.10g}".format, "display.width", 120):
        say(fit.compare().to_string(index=False))
    extra = {"formula": getattr(fit, "formula", None), "n_dropped": getattr(fit, "n_dropped", 0)}
    if args.lm:
        table, note = _lm_comparison(fit)
        say()
        if table is None:
            say(note)
        else:
            say(f"Comparison with lm() ({note}), on the {len(fit.train_index)} training rows:")
            with pd.option_context("display.float_format", "{:.10g}".format, "display.width", 120):
                say(table.to_string(index=False))
            extra["lm"] = table.to_dict(orient="records")
    if args.out or args.json:
        record = _record(fit, extra)
    if args.out:
        _write_json(record, args.out)
        if args.out != "-":
            say(f"\nWrote {args.out}")
    if args.json and args.out != "-":
        _write_json(record, "-")
    if args.plot:
        fit.plot(args.plot)
        say(f"Saved the plot to {args.plot}")
    return 0


def run_simulate(args):
    import pandas as pd

    import torchlinreg
    if args.n_obs < 1 or args.n_var < 1:
        raise CliError("--n-obs and --n-var must be at least 1.")
    if not args.noise >= 0:
        raise CliError("--noise must be a non-negative number.")
    X, y, coef = torchlinreg.simulate(args.n_obs, args.n_var, noise=args.noise, seed=args.seed)
    frame = pd.DataFrame(X, columns=[f"x{j + 1}" for j in range(args.n_var)])
    frame["y"] = y
    to_stdout = args.out == "-"
    frame.to_csv(sys.stdout if to_stdout else args.out, index=False, float_format="%.17g")
    report = sys.stderr if to_stdout else sys.stdout
    print("true coefficients (no intercept): "
          + ", ".join(f"x{j + 1}={c:.10g}" for j, c in enumerate(coef)), file=report)
    if not to_stdout:
        print(f"wrote {args.n_obs} rows to {args.out}", file=report)
    return 0


def _one_line_warning(message, category, *_args, **_kwargs):
    return f"torchlinreg: warning: {message}\n"


def main(argv=None):
    """Entry point of the ``torchlinreg`` console script; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    warnings.formatwarning = _one_line_warning
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print("torchlinreg: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`torchlinreg ... | head`): end quietly, as Unix tools do,
        # with no error and no second one when Python flushes standard output at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except (CliError, ValueError, RuntimeError, ImportError, OSError, KeyError) as error:
        message = " ".join(str(error).split()) or type(error).__name__
        print(f"torchlinreg: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
