"""Parse many landed bodies on every core. feedparser is pure Python and dominates ingest time, so large
batches are spread over a process pool; small ones are parsed in-process (no pool start-up cost)."""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path

import msgspec

from pipeline.dedup import item_story_docs
from pipeline.feeds.landing import LandingRef, read_body
from pipeline.feeds.parse import ParsedFeed, parse_feed
from pipeline.models import classified_text

PARALLEL_MIN_BYTES = 4 * 1024 * 1024
PARENT_CHECK_S = 1.0
# A worker's parsed feeds cross to the main process as MessagePack, decoded straight into the dataclasses: on 20k
# bench items that costs the worker ~6 µs an item where pickle cost ~17, and the main process, the run's busier
# side, ~8 instead of ~11 (the story features' nested dicts and lists are what pickle is slow with)
_PACK = msgspec.msgpack.Encoder()
# Workers yield the CPU to the run's main process, which assigns stories one item after another and so is the run's
# critical path; the parsers use whatever it leaves (100k bench items, three runs each: see the README)
PARSER_NICENESS = 10
# Allocations between wake-ups of the cyclic garbage collector, in bulk work (Python's default is 700). Parsing,
# story features and classification allocate millions of small acyclic objects, which reference counting frees;
# at the default each wake-up of an older generation walks a heap that holds the model and the word memos. A
# worker's CPU per 100k bench items (30k measured in one process): 45.6-48.6 core-seconds at the default,
# 39.3-40.5 at this (story features 12 -> 7.3)
BULK_GC_THRESHOLD = 70_000
_UNPACK = msgspec.msgpack.Decoder(list[ParsedFeed])


def _start_worker(parent_pid: int) -> None:
    """Worker initializer: end this worker within a second of the run that started it dying (a SIGKILLed
    ingest must not leave parsers running for a minute), give way to the main process and collect cyclic garbage
    as rarely as the main process does during a run."""
    def watch() -> None:
        while True:
            time.sleep(PARENT_CHECK_S)
            try:
                os.kill(parent_pid, 0)
            except ProcessLookupError:
                os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
    with contextlib.suppress(OSError):
        os.nice(PARSER_NICENESS)
    collect_garbage_in_bulk()


def collect_garbage_in_bulk() -> tuple[int, int, int]:
    """Let the cyclic garbage collector wake only every ``BULK_GC_THRESHOLD`` allocations; returns the thresholds
    it had, to restore."""
    threshold = gc.get_threshold()
    gc.set_threshold(max(threshold[0], BULK_GC_THRESHOLD), *threshold[1:])
    return threshold


@dataclass(frozen=True, slots=True)
class ParseJob:
    ref: LandingRef
    language: str | None
    fetched_at: datetime


# the classifier a pool worker applies: (taxonomy file, model file), None for the bundled ones
ClassifierFiles = tuple[Path | None, Path | None]


def parse_job(job: ParseJob, classify_with: ClassifierFiles | None = None) -> ParsedFeed:
    """Parse one landed body and precompute each item's story features (and, with ``classify_with``, its
    relevance verdict), so that this CPU work is spread over the pool too."""
    return parse_jobs([job], classify_with)[0]


def parse_jobs(jobs: Sequence[ParseJob], classify_with: ClassifierFiles | None = None) -> list[ParsedFeed]:
    """``parse_job`` of several bodies, in order: their items' story features and verdicts are computed in one
    batch across the bodies (the embedding and the classifier's matrices cost less per item in a batch of a
    thousand than in one feed's fifty)."""
    parsed = [_parse_body(job) for job in jobs]
    items = [item for feed in parsed for item in feed.items]
    if not items:
        return parsed
    # the features kept (``StoryDoc.to_features``) do not depend on the stand-in time for a missing publication time
    for item, doc in zip(items, item_story_docs(items, jobs[0].fetched_at), strict=True):
        item.story_features = doc.packed_features()
    if classify_with is not None:
        from pipeline.classify.classifier import get_classifier

        verdicts = get_classifier(*classify_with).classify_many(
            [(item.title, classified_text(item.summary, item.body)) for item in items])
        for item, verdict in zip(items, verdicts, strict=True):
            item.relevance = verdict
    return parsed


Packed = bytes | str | list[ParsedFeed]


def parse_jobs_packed(jobs: Sequence[ParseJob], classify_with: ClassifierFiles | None = None,
                      spool: str | None = None) -> Packed:
    """``parse_jobs`` as a pool worker returns it: MessagePack bytes (see ``unpack``), or the feeds themselves
    should a value not encode (then pickle carries them, as before: one odd value never fails the batch).

    With ``spool`` (a folder) the bytes are written to a file there and its path is returned. A result sent
    through the pool's pipe is read by a thread of the main process, which needs that process's interpreter lock
    for every 64 KiB; the main process is busy assigning stories, so a worker sat blocked for up to half a second
    handing over a 2.5 MB batch before it could start the next (100k bench items: ~3 core-seconds lost)."""
    parsed = parse_jobs(jobs, classify_with)
    try:
        packed = _PACK.encode(parsed)
    except (TypeError, msgspec.EncodeError):
        return parsed
    if spool is None:
        return packed
    path = os.path.join(spool, uuid.uuid4().hex)
    try:
        with open(path, "wb") as handle:
            handle.write(packed)
    except OSError:  # a full or vanished spool: the pipe still carries it
        with contextlib.suppress(OSError):
            os.unlink(path)
        return packed
    return path


def unpack(result: Packed) -> list[ParsedFeed]:
    """What ``parse_jobs_packed`` returned, as parsed feeds (a spooled file is read and removed). Datetimes come
    back in UTC (the same instants)."""
    if isinstance(result, str):
        with open(result, "rb") as handle:
            packed = handle.read()
        os.unlink(result)
        return _UNPACK.decode(packed)
    return _UNPACK.decode(result) if isinstance(result, bytes) else result


# Shared memory holds the spool only with this much free: a container's /dev/shm is often 64 MB, and PostgreSQL
# (the cluster profile) keeps its own segments there; two chunks of results in flight are ~80 MB
SPOOL_MIN_FREE_SHM = 1 << 30


def _spool_folder(shared_memory: Path = Path("/dev/shm")) -> str:
    """A private folder for the workers' results: in shared memory where the system has it with room to spare
    (nothing reaches a disk), else under the temporary directory (files read within seconds rarely leave the
    page cache either)."""
    roomy = False
    with contextlib.suppress(OSError):
        roomy = (shared_memory.is_dir() and os.access(shared_memory, os.W_OK)
                 and shutil.disk_usage(shared_memory).free >= SPOOL_MIN_FREE_SHM)
    return tempfile.mkdtemp(prefix="newswatch-parse-", dir=str(shared_memory) if roomy else None)


def _parse_body(job: ParseJob) -> ParsedFeed:
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


class FeedParserPool:
    """Parses batches of landed bodies; starts a process pool (forkserver) on the first batch big enough to
    be worth it and reuses it for the following ones.

    ``classify_with``: the pool's workers also classify what they parse. The run's main process, which assigns
    stories and loads, is the busier side (before, at 100k items, it waited for the parsers 7 % of the time),
    and a verdict needs no shared state. A batch parsed in-process is not classified here: the caller
    classifies only the items that are new, so a run with nothing new never loads the model."""

    def __init__(self, workers: int | None = None, classify_with: ClassifierFiles | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        self.classify_with = classify_with
        self._pool: ProcessPoolExecutor | None = None
        self._spool: str | None = None

    def __enter__(self) -> FeedParserPool:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            # a run that failed does not wait for the next chunk's parse it had started
            self._pool.shutdown(cancel_futures=exc[0] is not None)
            self._pool = None
        if self._spool is not None:
            shutil.rmtree(self._spool, ignore_errors=True)  # results of a failed run never collected
            self._spool = None

    @property
    def in_parallel(self) -> bool:
        """Whether the pool has started: batches are being parsed in other processes."""
        return self._pool is not None

    def parse(self, jobs: list[ParseJob]) -> list[ParsedFeed]:
        """Parsed feeds in the order of ``jobs``."""
        return self.submit(jobs)()

    def submit(self, jobs: list[ParseJob]) -> Callable[[], list[ParsedFeed]]:
        """Start parsing ``jobs`` on the pool now and return what collects them (in order), so the caller can
        process the previous batch meanwhile. A batch too small for the pool is parsed when collected."""
        if self.workers < 2 or len(jobs) < 2 or (self._pool is None and _landed_bytes(jobs) * 4 < PARALLEL_MIN_BYTES):
            return lambda: [parse_job(job) for job in jobs]
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self.workers,
                                             mp_context=multiprocessing.get_context("forkserver"),
                                             initializer=_start_worker, initargs=(os.getpid(),))
            self._spool = _spool_folder()
        # a few dozen bodies per task: the pool's hand-offs stay rare and each task's items are one batch
        per_task = max(1, len(jobs) // (self.workers * 8))
        groups = [jobs[start:start + per_task] for start in range(0, len(jobs), per_task)]
        work = partial(parse_jobs_packed, classify_with=self.classify_with, spool=self._spool)
        results = self._pool.map(work, groups)
        return lambda: [feed for packed in results for feed in unpack(packed)]
