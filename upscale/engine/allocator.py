"""Keep glibc's malloc from handing activation buffers back to the kernel after every layer.

glibc serves allocations above its mmap threshold (dynamic, capped at 32 MiB on 64-bit) with a
fresh mmap and unmaps them on free. A network's activations are larger than that (one 64-channel
bf16 map of a 560x560 window is 40 MB), so every layer of every pass maps new pages and faults
them in: about 2.1 million page faults for one 512x512 x4 run of realesr-general-x4v3, against
0.19 million with the thresholds below, and the network ran about 1.5x faster
(docs/performance.md). tcmalloc or jemalloc, when preloaded, do not need this and are left alone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import threading

log = logging.getLogger(__name__)

# mallopt(3) parameter numbers from glibc's <malloc.h>.
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
# Buffers up to this size come from the heap and are reused; larger ones (a whole 8000x8000
# output, say) are still mapped and returned at once.
MMAP_THRESHOLD = 1 << 30
# Free memory at the top of the heap is returned only beyond this: the next pass reuses it.
TRIM_THRESHOLD = 1 << 30
OTHER_ALLOCATORS = ("tcmalloc", "jemalloc", "mimalloc")

_done = False
_lock = threading.Lock()


def tune_glibc_malloc() -> bool:
    """Once per process; True when glibc accepted the thresholds. Safe to call anywhere."""
    global _done
    with _lock:
        if _done:
            return False
        _done = True
        preload = os.environ.get("LD_PRELOAD", "")
        if any(name in preload for name in OTHER_ALLOCATORS):
            return False
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            mallopt = libc.mallopt
        except (OSError, AttributeError):
            return False  # not glibc (musl, macOS): nothing to tune
        mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        mallopt.restype = ctypes.c_int
        ok = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
        log.debug("glibc malloc thresholds %s", "set" if ok else "refused")
        return ok
