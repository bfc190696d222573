"""Matrix products that round the same in every process, Python or R.

torch's CPU matrix products call the Fortran BLAS symbol ``dgemm_``, which
the dynamic linker resolves to the first library that defines it: torch's
own BLAS in a Python process, but R's (the reference BLAS, whose sums run
in another order) in an R session that has loaded torch through
reticulate. A 1 × 4 by 4 × 4 product already differs in the last bit
between the two, and over thousands of steps the fits drift apart. numpy's
bundled OpenBLAS exports its symbols under a prefix that no other library
defines, so the same product through numpy is the same number in both.
Tensors on other devices use torch's product.
"""
import numpy as np
import torch


def matmul(a, b):
    """``a @ b`` for CPU tensors through numpy (a new tensor); torch's elsewhere."""
    if a.device.type != "cpu" or b.device.type != "cpu" or a.requires_grad or b.requires_grad:
        return a @ b
    return torch.from_numpy(np.matmul(a.numpy(), b.numpy()))
