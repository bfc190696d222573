"""How many threads torch and numpy's BLAS use for a piece of work.

Steps on ``p × p`` statistics or 128-row batches are far too small to share
out, and the sums in the statistics must not depend on how many threads
share a reduction (the same fit from Python and from R, bit for bit): both
run on one thread. The statistics' products are numpy's (see
:func:`torchlinreg.engine.moments._gram`), so its BLAS is held to the same
count, through threadpoolctl.

Both limits belong to the process, not to a thread, so fits running in
several threads share them: the limit is held under a lock with a count of
its holders, set by the first and put back by the last (each setting and
restoring its own let one fit restore the "1" another had set, leaving the
process on one thread for good).
"""

import threading
from contextlib import contextmanager
from functools import lru_cache

import torch


_held = threading.Condition()
_holders = 0
_count = None
_restore = None  # (torch's count before, threadpoolctl's limiter) while held


@contextmanager
def threads(count):
    """Run with ``count`` intra-op threads in torch and in the BLAS libraries
    (None: unchanged), then restore.

    Waking a thread pool for each small step costs more than the work, and
    much more when the machine is busy: numpy's OpenBLAS spreading the
    statistics' products over both cores while the file reader uses them
    made a pass over the rows slower, its threads spinning in the kernel.
    A thread asking for another count than the one held waits until it is
    released.
    """
    if count is None:
        yield
        return
    _acquire(count)
    try:
        yield
    finally:
        _release()


def _acquire(count):
    global _holders, _count, _restore
    with _held:
        _held.wait_for(lambda: _holders == 0 or _count == count)
        if _holders == 0:
            before = torch.get_num_threads()
            if before != count:
                torch.set_num_threads(count)
            _restore = before, _blas_controller().limit(limits=count, user_api="blas")
            _count = count
            _release_blas_control()
        _holders += 1


def _release():
    global _holders, _count, _restore
    with _held:
        _holders -= 1
        if _holders:
            return
        before, limiter = _restore
        _restore, _count = None, None
        try:
            _release_blas_control()
            limiter.restore_original_limits()
            _release_blas_control()
        finally:
            if torch.get_num_threads() != before:
                torch.set_num_threads(before)
            _held.notify_all()


def _release_blas_control():
    """Let any thread set OpenBLAS's count next.

    threadpoolctl (3.6 on) lets only the thread that last set a process-wide
    OpenBLAS pool set it again, silently ignoring the others while that
    thread lives; the limit here is set by its first holder and put back by
    its last, often another thread, under this module's lock.
    """
    from threadpoolctl import OpenBLASController
    clear = getattr(OpenBLASController, "clear_controlling_thread", None)
    if clear is not None:
        clear(force=True)


@lru_cache(maxsize=1)
def _blas_controller():
    """The BLAS libraries loaded in this process, found once (finding them takes far longer than
    setting a limit, which every fit does)."""
    import numpy  # noqa: F401 - its BLAS must be loaded to be found
    from threadpoolctl import ThreadpoolController
    return ThreadpoolController()
