"""Molting: give a small open language model a consistent personality."""

from __future__ import annotations

import ctypes
import logging
import os
import sys
import warnings

__version__ = "0.1.0"

# bitsandbytes, imported by peft, warns on CPUs with AVX512-BF16 that an optional kernel from the hub is missing and
# asks to `pip install kernels`; its own CPU path runs instead (and the hub is out of reach offline). The warning
# landed in every executed notebook's output, a false lead for anyone reading it.
logging.getLogger("bitsandbytes.backends.cpu.ops").setLevel(logging.ERROR)
# peft reads transformers' `is_gradient_checkpointing`, which transformers 5 deprecates: a FutureWarning at every
# adapter load, in the training and evaluation notebooks' output, that is peft's to change and no user's.
warnings.filterwarnings("ignore", message="`is_gradient_checkpointing` is deprecated", category=FutureWarning)


def keep_freed_memory() -> bool:
    """Ask glibc to keep freed memory for reuse instead of handing it back to the kernel.

    PyTorch on CPU frees and reallocates activation-sized buffers every step. By default glibc serves
    large ones with fresh mmap()s, so every step page-faults its working set back in; on the 2-core VM
    this project is developed on, that made a LoRA step on SmolLM2-135M take ~10 s instead of ~1.3 s
    (benchmarks/bench_train.py). This is the glibc equivalent of running with jemalloc/tcmalloc.
    Set MOLTING_MALLOC_TUNING=0 to leave the allocator alone.
    """
    if os.environ.get("MOLTING_MALLOC_TUNING", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (e.g. musl): nothing to tune
        return False
    m_trim_threshold, m_top_pad, m_mmap_max = -1, -2, -4
    return bool(libc.mallopt(m_mmap_max, 0) and libc.mallopt(m_trim_threshold, 2**31 - 1)
                and libc.mallopt(m_top_pad, 256 * 2**20))


MALLOC_TUNED = keep_freed_memory()
