"""Seconds spent per stage of a run (reported in the run summary and by ``make bench``)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def timed(seconds: dict[str, float] | None, stage: str) -> Iterator[None]:
    """Add the time spent in the block to ``seconds[stage]`` (nothing when ``seconds`` is None)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        if seconds is not None:
            seconds[stage] = round(seconds.get(stage, 0.0) + time.perf_counter() - started, 4)
