"""The C heap under CPU tensors: keep freed activation memory for reuse, give it back when asked (glibc only).

Batched calibration allocates and frees activations of several MiB per Linear layer. glibc serves such sizes
with fresh ``mmap`` calls or trims them off the heap as soon as they are freed, so every new activation is
page-faulted in again: on the embedded model that was 1.3 million page faults, about a tenth of a Wanda run.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD = 32 * 2**20  # glibc's largest allowed value on 64-bit systems
_TRIM_THRESHOLD = 256 * 2**20


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt, libc.malloc_trim  # noqa: B018  (both exist only in glibc)
    except (OSError, AttributeError):
        return None
    return libc


def reuse_freed_memory() -> None:
    """Keep freed blocks of up to 32 MiB on the heap, and up to 256 MiB free at its top, for the next tensors."""
    libc = _glibc()
    if libc is not None:
        libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)
        libc.mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD)


def return_freed_memory() -> None:
    """Give all freed heap memory back to the OS (after a block's weights leave, so RSS does not grow per block)."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
