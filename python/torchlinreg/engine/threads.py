"""How many threads torch and numpy's BLAS use for a piece of work.

Steps on ``p × p`` statistics or 128-row batches are far too small to share
out, and the sums in the statistics must not depend on how many threads
share a reduction (the same fit from Python and from R, bit for bit): both
run on one thread. The statistics' products are numpy's (see
:func:`torchlinreg.engine.moments._add_products`), so its BLAS is held to the same
count, through threadpoolctl.
"""

from contextlib import contextmanager
from contextlib import nullcontext
from functools import lru_cache

import torch


@contextmanager
def threads(count):
    """Run with ``count`` intra-op threads in torch and in the BLAS libraries
    (None: unchanged), then restore.

    Waking a thread pool for each small step costs more than the work, and
    much more when the machine is busy: numpy's OpenBLAS spreading the
    statistics' products over both cores while the file reader uses them
    made a 50M-row pass 10% slower, most of it spent spinning in the kernel.
    """
    before = torch.get_num_threads()
    if count is not None and count != before:
        torch.set_num_threads(count)
    try:
        blas = nullcontext() if count is None else \
            _blas_controller().limit(limits=count, user_api="blas")
        with blas:
            yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


@lru_cache(maxsize=1)
def _blas_controller():
    """The BLAS libraries loaded in this process, found once (a limit then costs 20 µs)."""
    import numpy  # noqa: F401 - its BLAS must be loaded to be found
    from threadpoolctl import ThreadpoolController
    return ThreadpoolController()
