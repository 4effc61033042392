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

__all__ = ["keep_freed_memory"]

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
