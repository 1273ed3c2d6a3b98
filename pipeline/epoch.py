"""Times as whole microseconds since the Unix epoch: how the story table files them and Arrow columns carry them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


def micros(when: datetime) -> int:
    """Microseconds since the epoch, exactly (a naive time is read as UTC)."""
    return ((when if when.tzinfo else when.replace(tzinfo=UTC)) - EPOCH) // MICROSECOND
