"""Ctrl-C during a long fit: a fit marked "interrupted" with the history so far, no traceback.

The fit runs in a subprocess that gets a real SIGINT once it is training; it
prints how the fit ended and saves it, and the test resumes the saved fit.
Inside R, whose handler owns SIGINT, the bridge hands SIGINT to Python for
each call and restores the host's handler afterwards: the tests below play
the host with a C-level handler Python did not install.
"""
import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import warnings

import numpy as np
import pandas as pd
import pytest

import torchlinreg as tl
from torchlinreg.engine.interrupts import ctrl_c_between_steps
from torchlinreg.interop import bridge
from torchlinreg.interop.sigint import sigint_to_python

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


def interrupt_child(code, *args):
    """Run ``code`` in a child Python, send it SIGINT 1.5 s after it prints "training"
    (well into the loop: setup takes milliseconds), and return its ``(stdout, stderr)``
    once it has exited 0."""
    child = subprocess.Popen([sys.executable, "-c", code, *args],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONWARNINGS": "ignore"})
    try:
        started = child.stdout.readline().strip()
        if started != "training":
            child.wait(timeout=120)
            pytest.fail(f"the child exited {child.returncode} before training: "
                        f"{started!r} {child.stderr.read()[-3000:]}")
        time.sleep(1.5)
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 0, err
    return out, err


def child_data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5000, 8))
    return X, X.sum(1) + rng.normal(size=5000)


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


# --- inside a host that owns SIGINT (R): the bridge takes Ctrl-C for one call ---------------

SIGACTION = ctypes.CDLL(None, use_errno=True).sigaction if sys.platform != "win32" else None
if SIGACTION is not None:
    SIGACTION.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]


def c_level_sigint():
    """The process's struct sigaction for SIGINT, as bytes."""
    buffer = ctypes.create_string_buffer(512)
    assert SIGACTION(signal.SIGINT, None, buffer) == 0
    return buffer.raw


def handler_of(raw):
    """The handler's address: the struct's first field (Linux, macOS); libc
    leaves the unused tail of a read sa_mask as it finds it, so whole structs
    differ in noise."""
    return raw[:ctypes.sizeof(ctypes.c_void_p)]


def set_c_level_sigint(raw):
    assert SIGACTION(signal.SIGINT, ctypes.create_string_buffer(raw, 512), None) == 0


@contextlib.contextmanager
def host_ignoring_sigint():
    """SIGINT ignored at C level behind Python's back, as R's handler is: Python's
    record still says ``default_int_handler`` but no KeyboardInterrupt comes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    ignore = c_level_sigint()
    signal.signal(signal.SIGINT, signal.default_int_handler)
    assert handler_of(ignore) != handler_of(c_level_sigint())
    set_c_level_sigint(ignore)
    try:
        yield ignore
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def sigint_self():
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(0.2)  # a handler that raises ends the sleep at once


def test_sigint_to_python_raises_once_then_restores_a_handler_python_did_not_install():
    with host_ignoring_sigint() as ignore:
        sigint_self()  # the host's handler: nothing happens
        with pytest.raises(KeyboardInterrupt):
            with sigint_to_python():
                assert handler_of(c_level_sigint()) != handler_of(ignore)
                sigint_self()
        with sigint_to_python():
            with pytest.raises(KeyboardInterrupt):
                sigint_self()
            sigint_self()  # the second Ctrl-C of one call is ignored
        assert handler_of(c_level_sigint()) == handler_of(ignore)
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        sigint_self()  # the host's handler again


def test_sigint_to_python_does_nothing_off_the_main_thread_or_when_inactive():
    before = handler_of(c_level_sigint()), signal.getsignal(signal.SIGINT)
    with sigint_to_python(active=False):
        assert (handler_of(c_level_sigint()), signal.getsignal(signal.SIGINT)) == before
    seen = []

    def in_thread():
        with sigint_to_python():  # signal.signal would raise ValueError here
            seen.append((handler_of(c_level_sigint()), signal.getsignal(signal.SIGINT)))

    thread = threading.Thread(target=in_thread)
    thread.start()
    thread.join()
    assert seen == [before]


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


class CtrlCWhileRead:
    """Data that gets a real SIGINT while the fit reads it, before any step."""

    def __init__(self, values):
        self.values = values

    def __array__(self, dtype=None, copy=None):
        sigint_self()
        return np.asarray(self.values, dtype=dtype)


@pytest.mark.filterwarnings("ignore::torchlinreg.ConvergenceWarning")
def test_bridge_call_interrupted_before_a_result_reports_keyboard_interrupt():
    X, y = child_data()
    with host_ignoring_sigint() as ignore:
        # without take_sigint the host's handler has it: ignored, the fit runs
        plain = bridge.call("torch_lm_fit", {"x": CtrlCWhileRead(X), "y": y, "epochs": 3})
        assert plain["value"]["convergence"]["n_iter"] == 3
        out = bridge.call("torch_lm_fit", {"x": CtrlCWhileRead(X), "y": y, "epochs": 3},
                            take_sigint=True)
        assert handler_of(c_level_sigint()) == handler_of(ignore)
    message = "the fit was interrupted before it had anything to return."
    assert out == {"error": {"types": ["KeyboardInterrupt"], "message": message}}


BRIDGE_CHILD = textwrap.dedent("""
    import ctypes, os, signal, sys, time
    import numpy as np
    from torchlinreg.interop import bridge

    sigaction = ctypes.CDLL(None).sigaction
    sigaction.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
    def c_level():
        buffer = ctypes.create_string_buffer(512)
        sigaction(signal.SIGINT, None, buffer)
        return buffer
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the host (R) owns SIGINT
    host = c_level()
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sigaction(signal.SIGINT, host, None)
    handler = lambda raw: raw[:ctypes.sizeof(ctypes.c_void_p)]

    rng = np.random.default_rng(0)
    X = rng.normal(size=(5000, 8))
    y = X.sum(1) + rng.normal(size=5000)
    options = dict(x=X, y=y, epochs=10**9, tol=0.0, lr=1e-5, seed=0, engine=sys.argv[1])
    bridge.call("torch_lm_fit", {**options, "epochs": 2})
    print("training", flush=True)
    out = bridge.call("torch_lm_fit", options, take_sigint=True)["value"]
    os.kill(os.getpid(), signal.SIGINT)  # the host's handler again: ignored
    time.sleep(0.2)
    history = out["history"]
    last = [history[f"x{j}"][-1] for j in range(1, 9)]
    print(out["convergence"]["stop_reason"], len(history["loss"]),
          handler(c_level().raw) == handler(host.raw),
          bool(np.array_equal(out["coefficients"][0, 1:], last)),
          bool(history["loss"][-1] < history["loss"][0]), flush=True)
""")


@pytest.mark.parametrize("engine", ["gram", "autograd"])
def test_sigint_reaches_a_bridge_fit_inside_a_host_that_owns_it(engine):
    out, err = interrupt_child(BRIDGE_CHILD, engine)
    reason, rows, restored, coef_is_last_row, loss_fell = out.split()
    assert reason == "interrupted" and int(rows) >= 3
    assert restored == coef_is_last_row == loss_fell == "True"


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
