"""A compact picture of the warehouse for operators (``newswatch status``, ``make run``)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from pipeline.feeds.health import feed_health
from pipeline.settings import Settings
from pipeline.store import open_warehouse

RUN_KINDS = ("ingest",)  # the run that polls feeds: what "last run" means to an operator


def warehouse_status(settings: Settings) -> dict[str, Any]:
    with open_warehouse(settings) as wh:
        counts = wh.articles.counts()
        stories = wh.stories.count()
        last = wh.runs.latest(RUN_KINDS)
        digest = wh.digests.latest()
        feeds = feed_health(wh)
    return {
        "db": settings.location, **counts, "stories": stories,
        "last_run": {"run_id": last.run_id, "status": last.status, **last.counters} if last else None,
        "latest_digest": digest.html_path if digest else None,
        "feeds": dict(sorted(Counter(f["state"] for f in feeds).items())),  # as they are now, by state
    }
