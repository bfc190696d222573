"""Each Python example, run as a user runs it; its printed comparison is parsed and checked."""
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run_example(name, tmp_path):
    done = subprocess.run([sys.executable, str(EXAMPLES / name), "--plot-dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    if "lm() not available" in done.stdout:
        pytest.skip("R/rpy2 missing: the example compared with exact least squares only")
    assert done.stdout.rstrip().endswith("RESULT: PASS")
    return done.stdout


def parse_table(printed, title_start):
    """Rows of the whitespace-separated table printed after the line starting ``title_start``."""
    lines = printed.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title_start))
    header = lines[start + 1].split()
    rows = []
    for line in lines[start + 2:]:
        if not line.strip():
            break
        values = line.split()
        rows.append({"term": values[0], **{h: float(v) for h, v in zip(header[1:], values[1:])}})
    return header, rows


def test_demo_reproduces_the_ultramarathon_tutorial(tmp_path):
    printed = run_example("demo.py", tmp_path)
    header, rows = parse_table(printed, "Coefficients: torchlinreg beside")
    assert header[:4] == ["term", "estimate", "lm", "exact"]
    assert [r["term"] for r in rows] == ["(Intercept)", "distance", "elevation_gain",
                                         "elevation_loss"]
    for row in rows:
        assert abs(row["estimate"] - row["lm"]) <= 1e-8 * abs(row["lm"])
        assert abs(row["exact"] - row["lm"]) <= 1e-9 * abs(row["lm"])
    train, valid = map(float, re.search(r"final training loss: (\S+)\nfinal validation loss: (\S+)",
                                        printed).groups())
    assert 0 < train and 0 < valid
    steps, converged = re.search(r"steps: (\d+)\s+converged: (\w+)", printed).groups()
    assert int(steps) > 0 and converged == "True"
    assert re.search(r"(\d+) training rows, (\d+) validation rows", printed)
    assert (tmp_path / "ultramarathon_fit.png").stat().st_size > 1000


def test_sgd_example_agrees_within_minibatch_noise_and_shows_the_pitfall(tmp_path):
    printed = run_example("sgd_simulated.py", tmp_path)
    header, rows = parse_table(printed, "Coefficients: torchlinreg (SGD")
    assert [r["term"] for r in rows] == ["(Intercept)", "x1", "x2", "x3", "x4"]
    for row in rows:
        assert abs(row["estimate"] - row["lm"]) <= 0.1 * row["lm_std_error"]
        assert abs(row["estimate"] - row["true"]) < 0.05  # noise sd 0.1, 1,000 rows
    assert "torch's (y - pred) has shape [1000, 1000]" in printed
    wrong = float(re.search(r"mean\(\) = (\S+)\s+<- wrong", printed).group(1))
    right = float(re.search(r"correct mean squared error\s+= (\S+)", printed).group(1))
    ours = float(re.search(r"final training loss (\S+),", printed).group(1))
    assert wrong > 10 * right and ours == pytest.approx(right, rel=1e-3)
    assert "raised ShapeError" in printed


def test_one_variable_example_matches_lm_and_saves_its_line(tmp_path):
    printed = run_example("one_variable.py", tmp_path)
    _, rows = parse_table(printed, "Coefficients: torchlinreg beside")
    values = {r["term"]: r for r in rows}
    # closed form for x = 1, 2, 3, 3.5 and y = 2, 4, 6, 7.5: slope 127/59, intercept -14/59
    assert values["x"]["lm"] == pytest.approx(127 / 59, rel=1e-11)
    assert values["(Intercept)"]["lm"] == pytest.approx(-14 / 59, rel=1e-11)
    for row in rows:
        assert abs(row["estimate"] - row["lm"]) <= 1e-8 * abs(row["lm"])
    assert (tmp_path / "one_variable_line.png").stat().st_size > 1000


def test_python_to_r_round_trip_is_identical_and_matches_lm(tmp_path):
    if shutil.which("Rscript") is None:
        pytest.skip("Rscript missing: the round trip needs R with the torchlinreg package")
    printed = run_example("python_to_r.py", tmp_path)
    lines = printed.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Coefficients: Python"))
    rows = [line.split() for line in lines[start + 2:start + 6]]
    assert [row[0] for row in rows] == ["(Intercept)", "x1", "x2", "x3"]
    for term, python, r, lm, identical, rel_diff in rows:
        assert float(python) == float(r) and identical == "True", term
        assert abs(float(python) - float(lm)) <= 1e-8 * abs(float(lm)), term
        assert float(rel_diff) <= 1e-8
