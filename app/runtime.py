"""Process set-up before holoscan loads: its log level, the stack it asks for, quiet SDK imports."""

from __future__ import annotations

import contextlib
import logging
import os
import resource


def raise_stack_limit(wanted: int = 32 << 20) -> None:
    """Holoscan asks for a 32 MiB stack (its worker threads take the soft limit); raise it when allowed."""
    soft, hard = resource.getrlimit(resource.RLIMIT_STACK)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_STACK, (wanted if hard == resource.RLIM_INFINITY else min(wanted, hard), hard))


@contextlib.contextmanager
def sdk_session(debug: bool = False):
    """Holoscan's own log off unless debugging; the SDK's import-time warnings about optional GPU
    decoders (nvimgcodec) silenced, since CPU decoding is what this application uses."""
    os.environ.setdefault("HOLOSCAN_LOG_LEVEL", "INFO" if debug else "OFF")
    raise_stack_limit()
    if not debug:
        logging.disable(logging.WARNING)
    try:
        import monai.deploy.operators  # noqa: F401  (the import that logs)
    finally:
        logging.disable(logging.NOTSET)
    yield
