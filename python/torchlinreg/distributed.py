"""Fits across processes with ``torch.distributed``; the ``torchrun`` entry point.

``torchrun --nproc-per-node 2 -m torchlinreg.distributed FILES... --response y``
runs :func:`main`; from Python, every rank calls :func:`fit` or
:func:`fit_files` and ends with :func:`shutdown`. The implementation is
:mod:`torchlinreg.scale.distributed`.
"""
import sys

from .scale.distributed import files_for_rank, fit, fit_files, main, shutdown

__all__ = ["fit", "fit_files", "files_for_rank", "main", "shutdown"]

if __name__ == "__main__":
    sys.exit(main())
