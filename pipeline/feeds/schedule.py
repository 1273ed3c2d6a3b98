"""When to poll a feed next: adapt to its posting rhythm, honour TTL and Cache-Control, back off on
failure with a cap so that a failing feed always recovers by itself."""

from __future__ import annotations

import re
import statistics
from datetime import datetime, timedelta
from itertools import pairwise

MIN_INTERVAL = timedelta(minutes=5)
MAX_INTERVAL = timedelta(hours=24)
DEFAULT_INTERVAL = timedelta(minutes=30)
BACKOFF_BASE = timedelta(minutes=5)
BACKOFF_CAP = timedelta(hours=12)


def clamp(interval: timedelta) -> timedelta:
    return max(MIN_INTERVAL, min(MAX_INTERVAL, interval))


def posting_interval(item_times: list[datetime]) -> timedelta | None:
    """Half the median gap between recent items: poll about twice per new item."""
    times = sorted(set(item_times))[-20:]
    if len(times) < 3:
        return None
    gaps = [(b - a).total_seconds() for a, b in pairwise(times) if b > a]
    if not gaps:
        return None
    return timedelta(seconds=statistics.median(gaps) / 2)


MAX_INTERVAL_S = int(MAX_INTERVAL.total_seconds())


def cache_max_age(headers: dict[str, str]) -> timedelta | None:
    """Cache-Control max-age, capped at the longest interval (a header of 10^17 seconds must not overflow)."""
    match = re.search(r"max-age=(\d{1,30})", headers.get("cache-control", ""))
    return timedelta(seconds=min(int(match.group(1)), MAX_INTERVAL_S)) if match else None


def next_success_poll(now: datetime, *, item_times: list[datetime], ttl_minutes: int | None,
                      headers: dict[str, str], previous_interval: timedelta | None) -> tuple[datetime, timedelta]:
    interval = posting_interval(item_times) or previous_interval or DEFAULT_INTERVAL
    ttl = timedelta(minutes=min(ttl_minutes, MAX_INTERVAL_S // 60)) if ttl_minutes and ttl_minutes > 0 else None
    floors = [d for d in (cache_max_age(headers), ttl) if d]
    if floors:
        interval = max(interval, *floors)
    interval = clamp(interval)
    return now + interval, interval


def next_failure_poll(now: datetime, *, error_streak: int, retry_after: datetime | None) -> datetime:
    """Exponential backoff from the first failure, capped; Retry-After wins when it asks for longer."""
    backoff = min(BACKOFF_CAP, BACKOFF_BASE * (2 ** max(0, error_streak - 1)))
    when = now + backoff
    if retry_after and retry_after > when:
        when = min(retry_after, now + MAX_INTERVAL)
    return when
