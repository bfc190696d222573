"""interop/sigint.py: inside a host that owns SIGINT (R), sigint_to_python gives Ctrl-C to Python
for one call (KeyboardInterrupt once) and puts the host's C-level handler back exactly; the
bridge's calls take it with take_sigint=True."""
import signal
import sys
import textwrap
import threading

import numpy as np
import pytest

from sigint_host import (c_level_sigint, child_data, handler_of, host_ignoring_sigint,
                         interrupt_child, sigint_self)
from torchlinreg.interop import bridge
from torchlinreg.interop.sigint import sigint_to_python

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


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
    # lr so small that the fit cannot end by itself before the SIGINT (see test_interrupts)
    options = dict(x=X, y=y, epochs=10**9, tol=0.0, lr=1e-7, seed=0, engine=sys.argv[1])
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
