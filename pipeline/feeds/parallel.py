"""Parse many landed bodies on every core. feedparser is pure Python and dominates ingest time, so large
batches are spread over a process pool; small ones are parsed in-process (no pool start-up cost)."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from pipeline.feeds.landing import LandingRef, read_body
from pipeline.feeds.parse import ParsedFeed, parse_feed

PARALLEL_MIN_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class ParseJob:
    ref: LandingRef
    language: str | None
    fetched_at: datetime


def parse_job(job: ParseJob) -> ParsedFeed:
    try:
        body, headers = read_body(job.ref)
    except OSError as exc:
        return ParsedFeed(error=f"landed body unreadable: {exc}")
    return parse_feed(body, headers, source_id=job.ref.source_id, source_name=job.ref.feed_name,
                      language_hint=job.language, fetched_at=job.fetched_at)


def _landed_bytes(jobs: list[ParseJob]) -> int:
    total = 0
    for job in jobs:
        with contextlib.suppress(OSError):
            total += os.path.getsize(job.ref.path)
    return total


def parse_jobs(jobs: list[ParseJob], workers: int | None = None) -> list[ParsedFeed]:
    """Parsed feeds in the order of ``jobs``."""
    workers = workers or os.cpu_count() or 1
    if workers < 2 or len(jobs) < 2 or _landed_bytes(jobs) * 4 < PARALLEL_MIN_BYTES:  # gzip ratio about 1:4
        return [parse_job(job) for job in jobs]
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        return list(pool.map(parse_job, jobs, chunksize=max(1, len(jobs) // (workers * 8))))
