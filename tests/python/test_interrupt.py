"""Ctrl-C during a long fit: a fit marked "interrupted" with the history so far, no traceback.

The fit runs in a subprocess that gets a real SIGINT once it is training; it
prints how the fit ended and saves it, and the test resumes the saved fit.
"""
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import pandas as pd
import pytest

import torchlinreg as tl

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

CHILD = textwrap.dedent("""
    import sys
    import numpy as np
    import torchlinreg as tl

    rng = np.random.default_rng(0)
    X = rng.normal(size=(5000, 8))
    y = X.sum(1) + rng.normal(size=5000)
    options = dict(engine=sys.argv[2], epochs=10**9, tol=0.0, lr=1e-5, seed=0)
    if sys.argv[3] != "full":
        options.update(batch_size=int(sys.argv[3]))
    tl.fit(X, y, **{**options, "epochs": 2})
    print("training", flush=True)  # the first fit's one-off imports are done
    fit = tl.fit(X, y, **options)
    print(fit.stop_reason, len(fit.history), fit.n_iter, fit.n_steps, flush=True)
    fit.save(sys.argv[1])
""")


def child_data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5000, 8))
    return X, X.sum(1) + rng.normal(size=5000)


@pytest.mark.parametrize("engine, batches", [("gram", "full"), ("autograd", "500")])
def test_sigint_returns_an_interrupted_fit(tmp_path, engine, batches):
    path = tmp_path / "interrupted.npz"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path), engine, batches],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONWARNINGS": "ignore"})
    try:
        assert child.stdout.readline().strip() == "training"
        time.sleep(1.5)  # well into the loop: setup now takes milliseconds
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 0, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    reason, rows, n_iter, n_steps = out.split()
    assert reason == "interrupted"
    assert int(rows) == int(n_iter) + 1 and int(n_iter) >= 2

    fit = tl.load(path)
    assert fit.stop_reason == "interrupted" and not fit.converged
    history = fit.history
    assert len(history) == int(rows)
    assert np.all(np.diff(history["step"]) > 0) and history["step"].iloc[-1] <= fit.n_steps
    assert np.isfinite(history["loss"]).all() and history["loss"].iloc[-1] < history["loss"].iloc[0]
    np.testing.assert_array_equal(fit.coef, history[[f"x{j}" for j in range(1, 9)]].iloc[-1])

    # nothing lost: the interrupted fit goes on from where it stopped
    X, y = child_data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        more = tl.fit(X, y, resume=fit, epochs=3)
    assert more.n_iter == fit.n_iter + 3 and more.stop_reason == "max_epochs"
    kept = more.history.iloc[:len(history)]
    # the loop's own records are kept as they were; coefficients are mapped
    # to the original scale again over more rows, which may move the last bit
    assert kept[["iteration", "step", "loss", "val_loss", "grad_norm"]].equals(
        history[["iteration", "step", "loss", "val_loss", "grad_norm"]])
    pd.testing.assert_frame_equal(kept, history, check_exact=False, rtol=1e-13)
