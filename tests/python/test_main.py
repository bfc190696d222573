"""__main__.py: ``python -m torchlinreg`` is the torchlinreg command, run here in-process (the
subprocess runs are in test_cli.py): its exit code, its version, and a fit's JSON equal to the
exact least-squares solution."""
import json
import runpy
import sys

import numpy as np
import pandas as pd
import pytest

import torchlinreg as tl


def python_m_torchlinreg(monkeypatch, *args):
    """Run the package as ``python -m torchlinreg args``; return its exit code."""
    monkeypatch.setattr(sys, "argv", ["torchlinreg", *args])
    with pytest.raises(SystemExit) as ended:
        runpy.run_module("torchlinreg", run_name="__main__", alter_sys=True)
    return ended.value.code


def test_version_and_a_missing_command(monkeypatch, capsys):
    assert python_m_torchlinreg(monkeypatch, "--version") == 0
    assert capsys.readouterr().out.strip() == f"torchlinreg {tl.__version__}"
    assert python_m_torchlinreg(monkeypatch) == 2  # argparse: a command is required
    assert "COMMAND" in capsys.readouterr().err


def test_a_fit_prints_the_least_squares_coefficients_as_json(monkeypatch, capsys, tmp_path, rng):
    X = rng.normal(size=(60, 2))
    y = 1 + X @ [2.0, -3.0] + rng.normal(scale=0.1, size=60)
    path = tmp_path / "d.csv"
    pd.DataFrame(X, columns=["a", "b"]).assign(y=y).to_csv(path, index=False, float_format="%.17g")
    assert python_m_torchlinreg(monkeypatch, "fit", str(path), "--response", "y", "--seed", "1",
                                "--json") == 0
    out = json.loads(capsys.readouterr().out)
    exact = tl.ols(X, y)
    np.testing.assert_allclose(out["coef"], exact.coef, rtol=1e-8)
    assert out["intercept"] == pytest.approx(exact.intercept, rel=1e-8)
