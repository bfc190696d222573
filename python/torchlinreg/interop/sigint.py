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
own handler for one call, so that the training loop stops after the step in
progress and returns the fit so far (:mod:`torchlinreg.engine.interrupts`; a
``KeyboardInterrupt`` before training returns nothing) and R never sees the
interrupt, and then puts
back the host's handler exactly: ``signal.getsignal`` cannot see a handler
installed outside Python, so the C-level ``struct sigaction`` is saved and
restored as bytes through ``ctypes``.
"""

import signal
import threading
from contextlib import contextmanager

from ..engine.interrupts import SIGACTION, restore_sigaction, saved_sigaction


class _RaiseOnce:
    """The Python-level SIGINT handler during a call: ``KeyboardInterrupt``, once.

    Later interrupts are ignored, so neither a second Ctrl-C nor a late one
    can break off the restoring of the host's handler or lose a fit that is
    already being returned.
    """

    def __init__(self):
        self.armed = True

    @property
    def raises_keyboard_interrupt(self):
        """While armed: the training loop then defers the first Ctrl-C to the end of
        a step (:mod:`torchlinreg.engine.interrupts`) and hands the second here."""
        return self.armed

    def __call__(self, signum, frame):
        if self.armed:
            self.armed = False
            raise KeyboardInterrupt


def can_take_sigint():
    """Whether :func:`sigint_to_python` acts here: POSIX libc, Python's main thread."""
    return SIGACTION is not None and threading.current_thread() is threading.main_thread()


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
    host_sigaction = saved_sigaction()
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
    restore_sigaction(host_sigaction)
