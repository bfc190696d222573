"""Ctrl-C during a call from R: SIGINT goes to Python for the call, then back to R.

Inside R, reticulate owns SIGINT. Its C handler sets R's pending-interrupt
flag and trips Python's, and the Python-level handler it installs asks R,
through an R callback, whether to raise ``KeyboardInterrupt``. R evaluates
that callback with its own interrupt pending, so once in a while R's periodic
interrupt check falls inside the callback (the 38th Ctrl-C, every time, in a
session measured with reticulate 1.28): the fit fails with "(Unknown exception
occurred)", or R unwinds through Python and the next call crashes R. An
interrupt that Python does not take ends the call as an R interrupt, losing
the fit. :func:`sigint_to_python` gives SIGINT to Python's
own handler for one call, so that the training loop's ``KeyboardInterrupt``
handling returns the fit so far and R never sees the interrupt, and then puts
back the host's handler exactly: ``signal.getsignal`` cannot see a handler
installed outside Python, so the C-level ``struct sigaction`` is saved and
restored as bytes through ``ctypes``.
"""

import ctypes
import signal
import sys
import threading
from contextlib import contextmanager


# More than any platform's struct sigaction (152 bytes on x86-64 Linux); the
# bytes are only copied out and back, never read.
_SIGACTION_BYTES = 512


def _libc_sigaction():
    """libc's ``sigaction``, or ``None`` where this module cannot act."""
    if not (sys.platform.startswith("linux") or sys.platform == "darwin"):
        return None
    try:
        sigaction = ctypes.CDLL(None, use_errno=True).sigaction
    except (OSError, AttributeError):
        return None
    sigaction.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
    sigaction.restype = ctypes.c_int
    return sigaction


_SIGACTION = _libc_sigaction()


class _RaiseOnce:
    """The Python-level SIGINT handler during a call: ``KeyboardInterrupt``, once.

    Later interrupts are ignored, so neither a second Ctrl-C nor a late one
    can break off the restoring of the host's handler or lose a fit that is
    already being returned.
    """

    def __init__(self):
        self.armed = True

    def __call__(self, signum, frame):
        if self.armed:
            self.armed = False
            raise KeyboardInterrupt


def can_take_sigint():
    """Whether :func:`sigint_to_python` acts here: POSIX libc, Python's main thread."""
    return _SIGACTION is not None and threading.current_thread() is threading.main_thread()


def _saved_sigaction():
    saved = ctypes.create_string_buffer(_SIGACTION_BYTES)
    if _SIGACTION(signal.SIGINT, None, saved) != 0:
        raise OSError(ctypes.get_errno(), "sigaction(SIGINT) could not be read")
    return saved


@contextmanager
def sigint_to_python(active=True):
    """Within the block, SIGINT raises ``KeyboardInterrupt`` (once); afterwards
    the host's SIGINT handler is back, as it was at C level and in ``signal``.

    A no-op when ``active`` is false or :func:`can_take_sigint` is false (an
    other thread, Windows). Where Python had no record of the old handler
    (``signal.getsignal`` gave ``None``), the disarmed handler stays as
    Python's record, doing nothing, since ``signal`` cannot record "none"
    again; the C-level handler is restored all the same. A SIGINT that lands
    in the microseconds of switching goes to whichever handler is in place.
    """
    if not (active and can_take_sigint()):
        yield
        return
    route = _RaiseOnce()
    host_handler = signal.getsignal(signal.SIGINT)
    host_sigaction = _saved_sigaction()
    try:
        signal.signal(signal.SIGINT, route)
        yield
    finally:
        route.armed = False  # first: from here on the route cannot raise
        _restore(host_handler, host_sigaction)


def _restore(host_handler, host_sigaction):
    """Python's record of the handler, then the C-level handler itself
    (``signal.signal`` installs Python's own C handler)."""
    if host_handler is not None:
        signal.signal(signal.SIGINT, host_handler)
    if _SIGACTION(signal.SIGINT, host_sigaction, None) != 0:
        raise OSError(ctypes.get_errno(), "sigaction(SIGINT) could not be restored")
