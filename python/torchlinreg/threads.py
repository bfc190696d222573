"""How many threads torch uses for a piece of work.

Steps on ``p × p`` statistics or 128-row batches are far too small to share
out, and torch's column sums in the statistics must not depend on how many
threads share a reduction (the same fit from Python and from R, bit for
bit): both run on one thread.
"""
from contextlib import contextmanager

import torch


@contextmanager
def threads(count):
    """Run with ``count`` intra-op threads (None: unchanged), then restore.

    Waking a thread pool for each small step costs more than the work, and
    much more when the machine is busy.
    """
    before = torch.get_num_threads()
    if count is not None and count != before:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)
