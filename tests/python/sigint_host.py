"""SIGINT helpers shared by test_interrupts.py and test_sigint.py: a child Python that gets a
real Ctrl-C while training, and a host (as R is) that owns SIGINT at C level."""
import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest


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
