"""The process-wide thread limits (torch's and the BLAS's) under fits in several threads.

The limits are process-wide, so two fits in two threads that each set and
restore them race: one restoring "1" that the other had set leaves the
process on one thread for good. They are held under a lock with a count:
set by the first holder, put back by the last.
"""
import os
import threading

import numpy as np
import pytest
import torch
from threadpoolctl import ThreadpoolController

import torchlinreg as tl
from torchlinreg.engine.threads import threads


def blas_threads():
    """The thread counts of numpy's BLAS, which computes a fit's products and which the limit
    holds. Not every BLAS: one loaded after the first fit (scipy's own OpenBLAS, by a later
    test) is not in the list of libraries engine/threads.py makes once, nor used by a fit,
    and counting it made these tests fail after test_streaming.py."""
    numpy_dir = os.path.dirname(os.path.realpath(np.__file__))
    blas = ThreadpoolController().select(user_api="blas").lib_controllers
    own = [lib for lib in blas if os.path.realpath(lib.filepath).startswith(numpy_dir)]
    return [lib.num_threads for lib in own or blas]


@pytest.fixture
def two_threads_available():
    torch_before, blas_before = torch.get_num_threads(), blas_threads()
    if torch_before < 2 or min(blas_before, default=1) < 2:
        pytest.skip("needs torch and a BLAS on at least 2 threads to see a limit of 1")
    yield torch_before, blas_before


def run_in_order(*steps):
    """Run each ``(thread, action)`` in the order given, each in its named thread."""
    names = sorted({name for name, _ in steps})
    turn = threading.Condition()
    position = [0]
    errors = []

    def worker(name):
        try:
            for index, (who, action) in enumerate(steps):
                if who != name:
                    continue
                with turn:
                    turn.wait_for(lambda: position[0] == index, timeout=10)
                action()
                with turn:
                    position[0] += 1
                    turn.notify_all()
        except BaseException as error:  # reported in the main thread
            errors.append(error)

    workers = [threading.Thread(target=worker, args=(n,)) for n in names]
    for w in workers:
        w.start()
    for w in workers:
        w.join(20)
    assert not errors, errors


def test_overlapping_limits_in_two_threads_put_the_process_back(two_threads_available):
    torch_before, blas_before = two_threads_available
    a, b = threads(1), threads(1)
    seen = []
    # A sets the limit, B enters while it holds, A leaves first, B last: the
    # order that used to leave the process on one thread.
    run_in_order(("A", a.__enter__), ("B", b.__enter__),
                 ("A", lambda: a.__exit__(None, None, None)),
                 ("B", lambda: seen.append((torch.get_num_threads(), blas_threads()))),
                 ("B", lambda: b.__exit__(None, None, None)))
    assert seen == [(1, [1] * len(blas_before))]  # still limited while B holds it
    assert torch.get_num_threads() == torch_before
    assert blas_threads() == blas_before


@pytest.mark.filterwarnings("ignore::torchlinreg.ConvergenceWarning")
def test_concurrent_fits_leave_later_fits_bit_for_bit(two_threads_available):
    torch_before, blas_before = two_threads_available
    rng = np.random.default_rng(3)
    X = rng.normal(size=(3000, 40))
    y = X @ rng.normal(size=40) + rng.normal(size=3000)
    options = dict(seed=1, epochs=200)
    alone = tl.fit(X, y, **options)
    fits = []

    def one():
        for _ in range(3):
            fits.append(tl.fit(X, y, **options))

    pair = [threading.Thread(target=one) for _ in range(2)]
    for t in pair:
        t.start()
    for t in pair:
        t.join()
    assert torch.get_num_threads() == torch_before and blas_threads() == blas_before
    for f in fits + [tl.fit(X, y, **options)]:
        np.testing.assert_array_equal(f.coef, alone.coef)
