"""Process set-up before holoscan loads: its log level, the stack it asks for, quiet SDK imports."""

from __future__ import annotations

import ctypes
import importlib.util
import logging
import os
import resource
from pathlib import Path


def raise_stack_limit(wanted: int = 32 << 20) -> None:
    """Holoscan asks for a 32 MiB stack (its worker threads take the soft limit); raise it when allowed."""
    soft, hard = resource.getrlimit(resource.RLIMIT_STACK)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        allowed = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_STACK, (allowed, hard))


def load_cuda_runtime() -> None:
    """Holoscan's libraries link libcudart.so.13 even when no GPU is used; on machines without a
    CUDA toolkit, load the copy the nvidia-cuda-runtime wheel ships (app/requirements.txt) first,
    so the dynamic loader finds it by its soname."""
    try:
        ctypes.CDLL("libcudart.so.13", mode=ctypes.RTLD_GLOBAL)
        return
    except OSError:
        pass
    spec = importlib.util.find_spec("nvidia")
    for root in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(root) / "cu13" / "lib" / "libcudart.so.13"
        if candidate.is_file():
            ctypes.CDLL(str(candidate), mode=ctypes.RTLD_GLOBAL)
            return


def start_sdk(debug: bool = False) -> None:
    """Before the first SDK import: holoscan's own log off unless debugging, its stack and CUDA
    runtime in place, and the SDK's import-time warnings about optional GPU decoders (nvimgcodec)
    silenced, since CPU decoding is what this application uses."""
    os.environ.setdefault("HOLOSCAN_LOG_LEVEL", "INFO" if debug else "OFF")
    raise_stack_limit()
    load_cuda_runtime()
    if not debug:
        logging.disable(logging.WARNING)
    try:
        import monai.deploy.operators  # noqa: F401  (the import that logs)
    finally:
        logging.disable(logging.NOTSET)
