"""The machine a process runs on: the device torch computes on, and glibc's allocator.

`keep_freed_memory_for_reuse` is process tuning, called where a process starts: app.py, and
bench/inference.py, which measures what the app serves. Importing this module tunes nothing.
"""

from __future__ import annotations

import ctypes
import sys

import torch


def pick_device(requested: str | None = None) -> torch.device:
    """`requested` (cuda, mps, cpu ...) when given, else the fastest there is: CUDA, Apple's MPS, the CPU."""
    if requested:
        return torch.device(requested)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def keep_freed_memory_for_reuse() -> None:
    """Let glibc's malloc reuse freed blocks instead of handing them back to the kernel.

    Each 800x800 canvas makes a few temporary pictures of about 640 kB. By default glibc
    serves blocks that size with mmap and returns them on free, so every call page-faults
    its temporaries in again, which makes reading a drawing markedly slower
    (`python -m bench.inference` measures it). Keeping up to 64 MB of freed memory costs
    nothing noticeable. Other platforms and C libraries are left as they are.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None)  # the C library this process already runs on; no lookup needed
        m_trim_threshold, m_mmap_threshold = -1, -3  # from glibc's malloc.h
        libc.mallopt(m_mmap_threshold, 32 << 20)
        libc.mallopt(m_trim_threshold, 64 << 20)
    except (OSError, AttributeError):  # no mallopt (musl, say): nothing to tune
        pass
