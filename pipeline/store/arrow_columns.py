"""Python values as Arrow columns, for the storage layer's set-based inserts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pyarrow as pa

from pipeline.epoch import micros

UTC_MICROS = pa.timestamp("us", tz="UTC")


def utc_timestamps(values: Sequence[datetime | None]) -> pa.Array:
    """Datetimes (None for unknown; a naive one read as UTC, as Arrow reads it) as a ``timestamp[us, UTC]``
    column. Arrow converts an aware datetime through its ``utcoffset()``, ~1.5 µs each: for a chunk's four
    timestamp columns that was more than the insert itself. Whole microseconds since the epoch are ~10x cheaper."""
    return pa.array([None if value is None else micros(value) for value in values], pa.int64()).cast(UTC_MICROS)
