"""Keep freed memory mapped, so that per-step temporaries stop page-faulting.

A training step of a NumPy network allocates its temporaries (activations,
deltas, gradients) afresh every step.  With glibc's default allocator a
block of more than 128 KiB is obtained with ``mmap`` and returned to the
system when freed (or the heap is trimmed), so every step touches fresh
pages and pays a page fault per 4 KiB: on the lecture MLP at full batch this
doubles the time of a step (DESIGN.md, "Generated code").  Raising glibc's
mmap and trim thresholds makes freed blocks stay in the heap, where the next
step reuses them -- the effect of preallocated buffers, for code (like the
generated modules) that returns fresh arrays.

The setting is process-wide and harmless elsewhere (on other C libraries
this is a no-op).  Memory is still released when the process ends.

>>> isinstance(keep_freed_memory(), bool)
True
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

import numpy as np

__all__ = ["ALIGN", "aligned_empty", "keep_freed_memory"]

# glibc <malloc.h>
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
# Blocks up to 256 MiB come from the heap, and up to 512 MiB of free heap is
# kept rather than trimmed.  (glibc caps the mmap threshold at 32 MiB on its
# own when it adapts; setting it explicitly fixes it.)
_MMAP_THRESHOLD = 256 << 20
_TRIM_THRESHOLD = 512 << 20

_done: bool | None = None


def keep_freed_memory() -> bool:
    """Ask glibc to keep freed memory for reuse; True when the setting took effect.

    Idempotent: only the first call changes anything.
    """
    global _done
    if _done is not None:
        return _done
    _done = False
    if not sys.platform.startswith("linux"):
        return _done
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and others have no mallopt
        return _done
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    _done = bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD))
    return _done


# The width of the widest vector registers (AVX-512) and of a cache line, in bytes.
ALIGN = 64


def aligned_empty(n: int, dtype, align: int = ALIGN) -> np.ndarray:
    """An uninitialised vector of ``n`` elements whose first element sits at a multiple of ``align`` bytes.

    NumPy aligns its buffers to 16 bytes; a compiled kernel that loads whole
    vector registers from a parameter vector splits every load across two
    cache lines unless the vector starts on one (docs/compiled-step.md).

    >>> int(aligned_empty(5, np.float64).ctypes.data) % ALIGN
    0
    """
    dtype = np.dtype(dtype)
    if align % dtype.itemsize:
        raise ValueError(f"{align} bytes is not a whole number of {dtype} elements")
    raw = np.empty(n * dtype.itemsize + align, dtype=np.uint8)
    start = -raw.ctypes.data % align
    # through a memoryview, so that the vector is the base of its own views (as np.empty's is): a
    # network's parameters are views whose base is theta (inplace.joined relies on it)
    return np.frombuffer(memoryview(raw)[start : start + n * dtype.itemsize], dtype=dtype)
