"""Ctrl-C during training as a request to stop after the step in progress.

A ``KeyboardInterrupt`` raised wherever SIGINT lands can cut an
``optimizer.step()`` or a minibatch epoch in half: the parameters, the
optimizer's state and the random generator then disagree, and a fit resumed
from there is no longer the uninterrupted one bit for bit. So while the
loop runs, the first SIGINT only sets a flag, which the loop reads between
steps (between epochs, with minibatches) and stops on there; a second one
goes to the handler that was in place before, which raises at once.

Only a handler of Python's that raises ``KeyboardInterrupt`` is deferred
this way, and only in the main thread: a host that owns SIGINT at C level
(R, when the call did not hand Ctrl-C to Python) keeps it, and the C-level
handler is put back exactly as it was (see :mod:`torchlinreg.interop.sigint`).
"""

import ctypes
import signal
import sys
import threading
from contextlib import contextmanager


# More than any platform's struct sigaction (152 bytes on x86-64 Linux); the
# bytes are only copied out and back, and the handler's address (the first
# field on Linux and macOS) compared.
SIGACTION_BYTES = 512


def _libc_sigaction():
    """libc's ``sigaction``, or ``None`` where it cannot be used."""
    if not (sys.platform.startswith("linux") or sys.platform == "darwin"):
        return None
    try:
        sigaction = ctypes.CDLL(None, use_errno=True).sigaction
    except (OSError, AttributeError):
        return None
    sigaction.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
    sigaction.restype = ctypes.c_int
    return sigaction


SIGACTION = _libc_sigaction()


def saved_sigaction():
    """The C-level SIGINT action, as bytes to put back with :func:`restore_sigaction`."""
    saved = ctypes.create_string_buffer(SIGACTION_BYTES)
    if SIGACTION(signal.SIGINT, None, saved) != 0:
        raise OSError(ctypes.get_errno(), "sigaction(SIGINT) could not be read")
    return saved


def restore_sigaction(saved):
    if SIGACTION(signal.SIGINT, saved, None) != 0:
        raise OSError(ctypes.get_errno(), "sigaction(SIGINT) could not be restored")


def _handler_address(saved):
    return saved.raw[:ctypes.sizeof(ctypes.c_void_p)]


class StopRequest:
    """Whether a Ctrl-C asked the loop to stop (``requested``)."""

    requested = False


def _raises_keyboard_interrupt(handler):
    return handler is signal.default_int_handler or getattr(handler, "raises_keyboard_interrupt",
                                                            False)


@contextmanager
def ctrl_c_between_steps():
    """Within the block, the first SIGINT sets the yielded :class:`StopRequest`;
    a second goes to the handler in place before (``KeyboardInterrupt``).

    Yields a request that is never set where SIGINT is not Python's to defer:
    off the main thread, without libc's ``sigaction``, or when the handler in
    place does not raise ``KeyboardInterrupt`` (ignored, a host's, the user's).
    """
    request = StopRequest()
    previous = signal.getsignal(signal.SIGINT) \
        if SIGACTION is not None and threading.current_thread() is threading.main_thread() else None
    if not _raises_keyboard_interrupt(previous):
        yield request
        return
    host = saved_sigaction()

    def defer(signum, frame):
        if request.requested:
            previous(signum, frame)
        request.requested = True

    signal.signal(signal.SIGINT, defer)
    try:
        if _handler_address(saved_sigaction()) != _handler_address(host):
            # Python's record said "raise", but SIGINT was another C handler's
            # (a host's): leave it to that one.
            signal.signal(signal.SIGINT, previous)
            restore_sigaction(host)
            previous = None
        yield request
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
            restore_sigaction(host)
