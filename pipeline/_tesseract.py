"""Shared tesseract process settings (private to the pipeline package)."""

from __future__ import annotations

import os


def limit_threads() -> None:
    """Keep tesseract to one OpenMP thread unless the operator chose otherwise.

    With OpenMP threads a receipt takes ~2.1 s instead of ~0.4 s on our workers; we
    parallelise with worker processes instead. Set at call time, never at import time.
    """
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
