"""engine/interrupts.py: Ctrl-C during a long fit is a request to stop after the step in
progress: a fit marked "interrupted" with the history so far, no traceback, that resumes bit
for bit.

The fit runs in a subprocess that gets a real SIGINT once it is training; it
prints how the fit ended and saves it, and the test resumes the saved fit.
A host that owns SIGINT (R) keeps it: sigint_host.py plays the host with a
C-level handler Python did not install (interop/sigint.py: test_sigint.py).
"""
import signal
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pandas as pd
import pytest

import torchlinreg as tl
from sigint_host import c_level_sigint, child_data, handler_of, host_ignoring_sigint, \
    interrupt_child, sigint_self
from torchlinreg.engine.interrupts import ctrl_c_between_steps
from torchlinreg.interop.sigint import sigint_to_python

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

CHILD = textwrap.dedent("""
    import sys
    import numpy as np
    import torchlinreg as tl

    rng = np.random.default_rng(0)
    X = rng.normal(size=(5000, 8))
    y = X.sum(1) + rng.normal(size=5000)
    # lr so small that the fit cannot end by itself before the SIGINT, however fast the
    # steps (at 1e-5 a full-batch fit converged within the 1.5 s once a step took 25 µs)
    options = dict(engine=sys.argv[2], epochs=10**9, tol=0.0, lr=1e-7, seed=0)
    if sys.argv[3] != "full":
        options.update(batch_size=int(sys.argv[3]))
    tl.fit(X, y, **{**options, "epochs": 2})
    print("training", flush=True)  # the first fit's one-off imports are done
    fit = tl.fit(X, y, **options)
    print(fit.stop_reason, len(fit.history), fit.n_iter, fit.n_steps, flush=True)
    fit.save(sys.argv[1])
""")


@pytest.mark.parametrize("engine, batches", [("gram", "full"), ("autograd", "500")])
def test_sigint_returns_an_interrupted_fit(tmp_path, engine, batches):
    path = tmp_path / "interrupted.npz"
    out, err = interrupt_child(CHILD, str(path), engine, batches)
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


def test_ctrl_c_in_the_loop_is_a_flag_the_second_raises_and_a_host_keeps_its_own():
    with ctrl_c_between_steps() as request:
        sigint_self()
        assert request.requested  # no KeyboardInterrupt: the step in progress completes
        with pytest.raises(KeyboardInterrupt):
            sigint_self()  # a second Ctrl-C is not deferred
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    with host_ignoring_sigint() as ignore:
        with ctrl_c_between_steps() as request:
            assert handler_of(c_level_sigint()) == handler_of(ignore)
            sigint_self()  # the host's: ignored
        assert not request.requested and handler_of(c_level_sigint()) == handler_of(ignore)
        with sigint_to_python():  # R handed Ctrl-C to Python: deferred, then raised once
            with ctrl_c_between_steps() as request:
                sigint_self()
                assert request.requested
                with pytest.raises(KeyboardInterrupt):
                    sigint_self()
        assert handler_of(c_level_sigint()) == handler_of(ignore)


# --- resuming after Ctrl-C at a random moment is bit for bit ----------------------------------

RESUME_CHILD = textwrap.dedent("""
    import os, random, signal, sys, threading, time, warnings
    import numpy as np
    import torchlinreg as tl

    warnings.simplefilter("error", UserWarning)  # "interrupted in the middle of a step"
    warnings.simplefilter("ignore", tl.ConvergenceWarning)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 6))
    y = X @ np.arange(1.0, 7.0) + rng.normal(size=2000)
    options = dict(engine=sys.argv[1], optimizer=sys.argv[2], lr=1e-4, tol=0.0, seed=5)
    if sys.argv[3] != "full":
        options["batch_size"] = int(sys.argv[3])
    draw = random.Random(int(sys.argv[4]))
    tl.fit(X, y, **{**options, "epochs": 2})

    def ctrl_c(delay):
        # once the loop is running (its handler is in place; at most 2 s), after delay
        deadline = time.monotonic() + 2
        while signal.getsignal(signal.SIGINT) is signal.default_int_handler \
                and time.monotonic() < deadline:
            time.sleep(0.001)
        time.sleep(delay)
        os.kill(os.getpid(), signal.SIGINT)

    same = 0
    for trial in range(int(sys.argv[5])):
        threading.Thread(target=ctrl_c, args=(draw.uniform(0.0, 0.2),)).start()
        cut = tl.fit(X, y, **options, epochs=10**9)
        assert cut.stop_reason == "interrupted", cut.stop_reason
        more = tl.fit(X, y, resume=cut, epochs=7)
        whole = tl.fit(X, y, **options, epochs=cut.n_iter + 7)
        same += bool(np.array_equal(more.coef, whole.coef)
                     and np.array_equal(more.history["loss"], whole.history["loss"])
                     and more.n_steps == whole.n_steps)
    print(same, flush=True)
""")


@pytest.mark.parametrize("engine, optimizer, batches", [
    ("gram", "adam", "full"), ("gram", "lbfgs", "full"), ("gram", "sgd", "100"),
    ("autograd", "adam", "full"), ("autograd", "adam", "100")])
def test_resume_after_ctrl_c_at_a_random_moment_is_bit_for_bit(engine, optimizer, batches):
    trials = 8
    child = subprocess.run([sys.executable, "-c", RESUME_CHILD, engine, optimizer, batches,
                            str(len(engine + optimizer + batches)), str(trials)],
                           capture_output=True, text=True, timeout=300)
    assert child.returncode == 0, child.stderr[-3000:]
    assert child.stdout.split() == [str(trials)]
