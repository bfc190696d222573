"""The torchlinreg command: in a subprocess as users run it, and in-process for the details."""
import json
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import torchlinreg
from torchlinreg.cli import _parser, main


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "torchlinreg", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


@pytest.fixture(scope="module")
def data_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "data.csv"
    done = run_cli("simulate", "--n-obs", "300", "--n-var", "3", "--noise", "0.1", "--seed", "1",
                   "--out", str(path))
    assert done.returncode == 0, done.stderr
    assert "true coefficients" in done.stdout
    return path, done.stdout


def test_simulate_writes_the_tutorial_data(data_csv):
    path, printed = data_csv
    frame = pd.read_csv(path, float_precision="round_trip")
    assert list(frame.columns) == ["x1", "x2", "x3", "y"] and len(frame) == 300
    X, y, coef = torchlinreg.simulate(300, 3, noise=0.1, seed=1)
    np.testing.assert_array_equal(frame[["x1", "x2", "x3"]].to_numpy(), X)
    np.testing.assert_array_equal(frame["y"].to_numpy(), y)
    printed_coef = [float(v) for v in re.findall(r"x\d=(\S+?)(?:,|$)", printed.splitlines()[0])]
    np.testing.assert_allclose(printed_coef, coef, rtol=1e-9)


def test_fit_prints_summary_and_comparisons_and_writes_files(data_csv, tmp_path):
    path, _ = data_csv
    out, plot = tmp_path / "fit.json", tmp_path / "fit.png"
    done = run_cli("fit", str(path), "--formula", "y ~ x1 + x2 + x3", "--optimizer", "adam",
                   "--lr", "0.1", "--epochs", "5000", "--validation", "0.2", "--seed", "1",
                   "--out", str(out), "--plot", str(plot), "--lm")
    assert done.returncode == 0, done.stderr
    printed = done.stdout
    assert "Coefficients:" in printed and "Residual standard error" in printed
    assert "Comparison with exact least squares" in printed
    record = json.loads(out.read_text())
    assert record["term_names"] == ["(Intercept)", "x1", "x2", "x3"]
    assert record["settings"]["seed"] == 1 and record["formula"] == "y ~ x1 + x2 + x3"
    assert plot.stat().st_size > 1000
    if "lm() comparison skipped" in printed:
        pytest.skip("R/rpy2 missing")
    section = printed.split("Comparison with lm()")[1]
    rows = [line.split() for line in section.splitlines()[2:] if line.strip()]
    rows = [r for r in rows if r[0] == "y"]
    assert [r[1] for r in rows] == record["term_names"]
    for _, term, ours, lm, _abs, _rel in (r[:6] for r in rows):
        assert float(ours) == pytest.approx(float(lm), rel=1e-8)
    # the fit in the JSON is the one printed, and lm() ran on its training rows
    np.testing.assert_allclose([r["lm"] for r in record["lm"]],
                               [float(r[3]) for r in rows], rtol=1e-9)


def test_errors_are_one_line_with_exit_status_2(tmp_path):
    done = run_cli("fit", str(tmp_path / "missing.csv"), "--response", "y")
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "Traceback" not in done.stderr
    assert done.stderr.startswith("torchlinreg: error: no such file")


@pytest.mark.parametrize("args, message", [
    (["--response", "z"], "columns ['z'] are not in the data"),
    (["--response", "y", "--lr", "-1"], "lr must be a positive"),
    (["--response", "y", "--optimizer", "nope"], "optimizer"),
    (["--formula", "y ~ x1", "--response", "y"], "either --formula or --response"),
    ([], "give --formula"),
    (["--response", "y", "--option", "momentum"], "KEY=VALUE"),
])
def test_user_errors_in_process(data_csv, capsys, args, message):
    path, _ = data_csv
    assert main(["fit", str(path), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("torchlinreg: error: ") and message in err
    assert err.count("\n") == 1


def test_response_and_predictors_with_optimizer_options(data_csv, capsys):
    path, _ = data_csv
    code = main(["fit", str(path), "--response", "y", "--predictors", "x1,x3", "--optimizer", "sgd",
                 "--lr", "0.3", "--option", "momentum=0.9", "--batch-size", "64", "--epochs", "20",
                 "--seed", "2", "--no-intercept"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "sgd (lr 0.3, batch size 64" in printed
    assert re.search(r"^x1 ", printed, re.M) and not re.search(r"^x2 ", printed, re.M)
    assert "(Intercept)" not in printed.split("Comparison with exact")[1]


def test_help_is_complete(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for option in ["--formula", "--response", "--predictors", "--optimizer", "--lr", "--epochs",
                   "--validation", "--seed", "--batch-size", "--dtype", "--out", "--plot", "--lm",
                   "--weights", "--tol", "--no-intercept", "--no-standardize", "--option"]:
        assert option in text
    simulate_help = _parser()._subparsers._group_actions[0].choices["simulate"].format_help()
    for option in ["--n-obs", "--n-var", "--noise", "--seed", "--out"]:
        assert option in simulate_help
    with pytest.raises(SystemExit) as exit_info:
        main([])
    assert exit_info.value.code == 2


def test_console_script_is_installed():
    from pathlib import Path
    script = Path(sys.executable).parent / "torchlinreg"
    if not script.exists():
        pytest.skip("package not installed with its console script (pip install -e .)")
    done = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.startswith("torchlinreg ")


def test_fit_out_dash_writes_json_to_standard_output(data_csv, tmp_path):
    """Was: a file named '-' (while simulate --out - meant standard output)."""
    path, _ = data_csv
    done = run_cli("fit", str(path), "--formula", "y ~ x1 + x2 + x3", "--seed", "1",
                   "--out", "-", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "-").exists()
    record = json.loads(done.stdout)
    assert record["term_names"] == ["(Intercept)", "x1", "x2", "x3"]
    assert "Coefficients:" in done.stderr  # the report moves to standard error


def test_json_prints_the_result_alone(data_csv, capsys):
    path, _ = data_csv
    assert main(["fit", str(path), "--response", "y", "--seed", "1", "--json"]) == 0
    captured = capsys.readouterr()
    record = json.loads(captured.out)
    fit = torchlinreg.fit(pd.read_csv(path)[["x1", "x2", "x3"]], pd.read_csv(path)["y"], seed=1)
    np.testing.assert_allclose(record["coef"], fit.coef, rtol=1e-12)
    assert record["statistics"]["aic"] == pytest.approx(fit.aic, rel=1e-12)
    assert record["statistics"]["nobs"] == 300
    assert captured.err == ""


def test_simulate_piped_into_fit(tmp_path):
    simulate = subprocess.run([sys.executable, "-m", "torchlinreg", "simulate", "--n-obs", "50",
                               "--seed", "2"], capture_output=True, text=True, check=True)
    done = subprocess.run([sys.executable, "-m", "torchlinreg", "fit", "-", "--response", "y",
                           "--json", "--seed", "1"], input=simulate.stdout, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["statistics"]["nobs"] == 50


def test_precondition_is_a_cli_option(tmp_path):
    X, y, _ = torchlinreg.simulate(100, 2, seed=3)
    frame = pd.DataFrame(X, columns=["a", "b"])
    frame["y"] = y
    frame.to_csv(tmp_path / "d.csv", index=False)
    import contextlib
    import io
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        main(["fit", str(tmp_path / "d.csv"), "--response", "y", "--precondition", "standardize",
              "--seed", "1", "--json"])
    assert json.loads(out.getvalue())["settings"]["precondition"] == "standardize"


def test_a_reader_that_stops_early_ends_the_command_quietly():
    """`torchlinreg simulate --out - | head -1`: the write fails with EPIPE once head has
    gone; the command ends quietly (status 141, as a process killed by SIGPIPE in the
    shell), without 'error: [Errno 32] Broken pipe' or a traceback."""
    child = subprocess.Popen([sys.executable, "-m", "torchlinreg", "simulate", "--n-obs",
                              "200000", "--seed", "1", "--out", "-"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert child.stdout.readline().startswith("x1,")
    child.stdout.close()
    err = child.stderr.read()
    assert child.wait(timeout=300) == 141
    assert "error" not in err and "Traceback" not in err and "Broken pipe" not in err, err
