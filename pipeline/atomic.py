"""Replace a file whole: write beside it, then rename over it (one atomic step on POSIX and Windows)."""

from __future__ import annotations

import os
from pathlib import Path


def write_atomically(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` so that a reader sees the old file or the new one, never half of one (a classify
    run loading the model while `newswatch train` rewrites it)."""
    target = Path(target)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        partial.write_bytes(data)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
