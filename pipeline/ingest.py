"""The ingest run: poll feeds into the landing zone, then process landed bodies and seeds through
parse -> classify -> validate -> dedup -> load, one transaction per chunk, every item accounted for.

A chunk's transaction holds everything the chunk changes: articles, revisions, story features and aggregates,
quarantine rows, validation results, the bodies it processed, their feeds' state and the run's counters. A run
that raises is marked failed; a run that was killed is marked abandoned by the next run, which redoes the
chunks it did not commit (their bodies are not marked processed and their feeds keep their old state)."""

from __future__ import annotations

import copy
import dataclasses
import gc
import json
import logging
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline import validate
from pipeline.chunk import process_chunk
from pipeline.feeds.config import FeedConfig, FeedListError, load_feed_list
from pipeline.feeds.health import PollRecord, due_feeds, load_states, record_polls, register_feeds
from pipeline.feeds.landing import landed_refs
from pipeline.feeds.parallel import FeedParserPool, ParseJob, collect_garbage_in_bulk
from pipeline.feeds.parse import ParsedFeed
from pipeline.feeds.poll import FeedState, PollOutcome, poll_feeds
from pipeline.models import IngestSummary, Item
from pipeline.normalize import renormalize
from pipeline.settings import Settings
from pipeline.sources.seeds import SOURCE_ID as SEEDS_SOURCE_ID
from pipeline.sources.seeds import load_seeds
from pipeline.store import Warehouse, open_warehouse
from pipeline.store.sources import StoredFeed
from pipeline.stories import StoryIndex
from pipeline.timing import timed

log = logging.getLogger(__name__)


class UnknownFeed(LookupError):
    """A feed name given on the command line matches nothing."""


def new_run_id(kind: str = "ingest", now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return f"{kind}-{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


def feed_list(settings: Settings, feeds_file: Path | None) -> list[FeedConfig]:
    """The feed list; a missing file is an error (a typo in NEWSWATCH_FEEDS_FILE must not mean "no feeds")."""
    path = Path(feeds_file or settings.feeds_file)
    if not path.exists():
        raise FeedListError(f"feed list {path} does not exist (NEWSWATCH_FEEDS_FILE); an empty file means no feeds")
    return load_feed_list(path)


def _plan(wh: Warehouse, feeds: list[FeedConfig], only_due: bool,
          now: datetime) -> tuple[list[FeedConfig], dict[str, FeedState]]:
    def register() -> None:
        register_feeds(wh, feeds)
        wh.sources.sync_list([f.source_id for f in feeds], [f.source_id for f in feeds if not f.enabled], now)

    wh.atomically(register)
    enabled = [f for f in feeds if f.enabled]
    states = load_states(wh, enabled)
    due = due_feeds(enabled, states, now) if only_due else [
        f for f in enabled if not (states.get(f.source_id) and states[f.source_id].retired)]
    return due, states


def plan_polls(settings: Settings, feeds_file: Path | None = None, *, only_due: bool = True,
               now: datetime | None = None) -> list[FeedConfig]:
    """The feeds to poll now (registering new ones in the warehouse)."""
    with open_warehouse(settings, write=True, holder="feed planning") as wh:
        return _plan(wh, feed_list(settings, feeds_file), only_due, now or datetime.now(UTC))[0]


def poll(settings: Settings, feeds: list[FeedConfig], states: dict[str, FeedState] | None = None) -> list[
        PollOutcome]:
    """Fetch the given feeds into the landing zone (``states``: as the plan read them; read here if absent)."""
    if states is None:
        with open_warehouse(settings, create=True) as wh:
            states = load_states(wh, feeds)
    return poll_feeds(feeds, states, settings)


def _start(wh: Warehouse, summary: IngestSummary, now: datetime) -> None:
    summary.abandoned_runs = wh.atomically(lambda: wh.runs.start(summary.run_id, summary.kind, now))
    for run_id in summary.abandoned_runs:
        log.warning("run %s was left running by a process that died: marked abandoned; %s redoes its work",
                    run_id, summary.run_id)


def _finish(wh: Warehouse, summary: IngestSummary) -> None:
    wh.runs.finish(summary.run_id, summary.counters(), summary.to_dict(), datetime.now(UTC))


def _fail(wh: Warehouse, summary: IngestSummary, exc: BaseException) -> None:
    """Mark the run failed with the error (its chunk already rolled back); best effort, the error is re-raised."""
    try:
        wh.atomically(lambda: wh.runs.fail_at_last_commit(summary.run_id, f"{type(exc).__name__}: {exc}",
                                                          datetime.now(UTC)))
    except Exception:  # the connection itself may be what failed
        log.exception("could not mark run %s failed", summary.run_id)


def _restorer(summary: IngestSummary) -> Callable[[], None]:
    """Puts the run's counters back as they are now: what a transaction redone after a conflict undoes."""
    before = copy.deepcopy(summary)

    def restore() -> None:
        for name in (f.name for f in dataclasses.fields(summary)):
            setattr(summary, name, copy.deepcopy(getattr(before, name)))

    return restore


# records a chunk's bodies (their feeds' rows, the run's counts), given the items newly loaded per source
BodiesDone = Callable[[Warehouse, list[tuple[ParseJob, ParsedFeed]], dict[str, int]], None]


def _process_bodies(wh: Warehouse, settings: Settings, jobs: list[ParseJob], extra_items: list[Item],
                    summary: IngestSummary, now: datetime, bodies_done: BodiesDone) -> None:
    """Parse landed bodies and commit them ``chunk_bodies`` at a time, one transaction each, so memory stays
    bounded however big the run (at most 1 + PARSE_AHEAD chunks: the pool parses ahead while one commits); one
    story index serves the whole run. ``bodies_done`` records the chunk's bodies inside its transaction
    (given the items newly loaded per source). A chunk that lost a write conflict on a lake is redone whole:
    the run's counters are restored and the story index reloaded."""
    with _few_collections():
        _commit_chunks(wh, settings, jobs, extra_items, summary, now, bodies_done)


@contextmanager
def _few_collections() -> Iterator[None]:
    """Run a bulk of allocations with the cyclic garbage collector waking 100x less often. A run allocates
    millions of small acyclic objects (tokens, features, story documents); at Python's default threshold each
    wake-up of the oldest generation walks the whole growing heap: on the bench at 40k items, classify took
    1.5x as long. Reference counting still frees everything acyclic at once."""
    threshold = collect_garbage_in_bulk()
    try:
        yield
    finally:
        gc.set_threshold(*threshold)


# Chunks the pool parses ahead of the one committing. With one, the two parsers finished the next chunk before
# the main process had committed the current one and then sat idle (2 cores, 100k bench items: ~1 core-second
# per chunk); with two they always have work while the run lasts. Memory: one more chunk's items in flight.
PARSE_AHEAD = 2
# The run's last full chunk is committed in this many pieces, each half the one before (the last two equal): nothing
# is left to parse while the last piece commits, so one core idles for that long (a whole 20,000-item chunk was ~6 s
# of the bench's 50); halving keeps the last piece small without adding pieces, each of which has a fixed cost
TAIL_PIECES = 4


def chunk_plan(jobs: list[ParseJob], size: int) -> list[list[ParseJob]]:
    """``jobs`` in chunks of ``size`` bodies, the last full chunk's worth cut into ``TAIL_PIECES`` smaller ones of
    1/2, 1/4, ... of it (a run of one chunk stays one chunk: one transaction)."""
    if len(jobs) <= size:
        return [jobs]
    head = len(jobs) - size
    plan = [jobs[start:min(start + size, head)] for start in range(0, head, size)]
    start = head
    for _ in range(TAIL_PIECES - 1):
        if start >= len(jobs) - 1:
            break
        end = start + max(1, (len(jobs) - start) // 2)
        plan.append(jobs[start:end])
        start = end
    plan.append(jobs[start:])
    return plan


def _commit_chunks(wh: Warehouse, settings: Settings, jobs: list[ParseJob], extra_items: list[Item],
                   summary: IngestSummary, now: datetime, bodies_done: BodiesDone) -> None:
    stories = [StoryIndex()]  # replaced whole when a chunk is redone
    chunks = chunk_plan(jobs, settings.chunk_bodies)
    with FeedParserPool(classify_with=(settings.taxonomy_file, settings.model_file)) as parser:
        pending = deque([parser.submit(chunks[0])])
        if parser.in_parallel:
            # a large run: its first chunk parses in the pool meanwhile, and its new items will be validated
            with timed(summary.stage_seconds, "validate"):
                validate.prepare()
        submitted = 1
        for number, chunk in enumerate(chunks):
            while submitted < min(len(chunks), number + 1 + PARSE_AHEAD):
                pending.append(parser.submit(chunks[submitted]))  # parsed while this chunk commits
                submitted += 1
            with timed(summary.stage_seconds, "parse"):  # what is left to wait for: parsing overlaps the commit
                parsed_chunk = pending.popleft()()
            items = [item for parsed in parsed_chunk for item in parsed.items]
            if number == 0:
                items.extend(extra_items)

            def commit_chunk(chunk: list[ParseJob] = chunk, parsed_chunk: list[ParsedFeed] = parsed_chunk,
                             items: list[Item] = items) -> None:
                loaded_per_source = process_chunk(wh, settings, items, summary, now, stories[0])
                with timed(summary.stage_seconds, "record"):
                    wh.runs.mark_processed([(job.ref.source_id, job.ref.body_hash, len(parsed.items))
                                            for job, parsed in zip(chunk, parsed_chunk, strict=True)],
                                           summary.run_id, now)
                    bodies_done(wh, list(zip(chunk, parsed_chunk, strict=True)), loaded_per_source)
                    wh.runs.save_progress(summary.run_id, summary.counters(), summary.to_dict())

            restore_counters = _restorer(summary)

            def undo_chunk(restore_counters: Callable[[], None] = restore_counters) -> None:
                restore_counters()
                stories[0] = StoryIndex()  # reloaded from what is committed, the other writers' work included

            wh.atomically(commit_chunk, undo_chunk)
            for parsed in parsed_chunk:
                parsed.items = []  # committed: free the items


def _count_feed(summary: IngestSummary, outcome: PollOutcome, parsed: ParsedFeed | None) -> None:
    error = outcome.error or (parsed.error if parsed else None)
    if outcome.outcome == "retired" and outcome.status is None:
        summary.feeds_skipped += 1
    elif error:
        summary.feeds_failed += 1
        summary.feed_errors.append({"feed": outcome.feed_name, "url": outcome.url, "error": error})
    else:
        summary.feeds_ok += 1
        if parsed and parsed.warning:
            summary.feed_warnings.append({"feed": outcome.feed_name, "warning": parsed.warning})


def _poll_record(summary: IngestSummary, outcome: PollOutcome, stored: StoredFeed | None,
                 parsed: ParsedFeed | None, items_loaded: int) -> PollRecord:
    """What a poll (and its parsed body) tells its feed's row; counted in the run's summary."""
    _count_feed(summary, outcome, parsed)
    if parsed is None:
        return PollRecord(outcome, stored, items_loaded=items_loaded)
    return PollRecord(outcome, stored, item_times=[i.published_at for i in parsed.items if i.published_at],
                      ttl_minutes=parsed.ttl_minutes, parse_error=parsed.error, items_loaded=items_loaded)


def process(settings: Settings, outcomes: list[PollOutcome | dict[str, Any]], *, include_seeds: bool = True,
            run_id: str | None = None, kind: str = "ingest", feeds_file: Path | None = None,
            force: bool = False, feeds: list[FeedConfig] | None = None) -> IngestSummary:
    """Parse what the polls landed (skipping bodies already processed unless ``force``), add the seeds,
    classify, validate, dedup and load: one run, one transaction per chunk."""
    now = datetime.now(UTC)
    summary = IngestSummary(run_id=run_id or new_run_id(kind, now), kind=kind)
    feeds = feeds if feeds is not None else feed_list(settings, feeds_file)
    languages = {f.source_id: f.language for f in feeds}
    polls = [o if isinstance(o, PollOutcome) else PollOutcome.from_dict(o) for o in outcomes]
    seeds = load_seeds(settings.seeds_dir) if include_seeds and settings.seeds_dir.exists() else []
    with open_warehouse(settings, write=True, holder=f"{kind} run {summary.run_id}") as wh:
        _start(wh, summary, now)
        try:
            landed = [o.landing_ref for o in polls if o.landing_ref is not None]
            done = set() if force else wh.runs.processed_bodies([(r.source_id, r.body_hash) for r in landed])
            by_source = {o.source_id: o for o in polls}
            stored = wh.sources.feeds()  # feed state, read once for the run
            jobs = {o.source_id: ParseJob(o.landing_ref, languages.get(o.source_id),
                                          datetime.fromisoformat(o.landing_ref.fetched_at))
                    for o in polls if o.landing_ref is not None
                    and (o.landing_ref.source_id, o.landing_ref.body_hash) not in done}

            def bodies_done(wh: Warehouse, bodies: list[tuple[ParseJob, ParsedFeed]], loaded: dict[str, int]) -> None:
                record_polls(wh, [_poll_record(summary, by_source[job.ref.source_id], stored.get(job.ref.source_id),
                                               parsed, loaded.get(job.ref.source_id, 0)) for job, parsed in bodies])

            wh.atomically(lambda: wh.sources.ensure_seed_source(SEEDS_SOURCE_ID))
            _process_bodies(wh, settings, list(jobs.values()), seeds, summary, now, bodies_done)

            def record_the_rest() -> None:
                # the polls that brought no new body: errors, not modified, seen before
                record_polls(wh, [_poll_record(summary, outcome, stored.get(outcome.source_id), None, 0)
                                  for outcome in polls if outcome.source_id not in jobs])
                _finish(wh, summary)

            with timed(summary.stage_seconds, "record"):
                wh.atomically(record_the_rest, _restorer(summary))
        except BaseException as exc:
            _fail(wh, summary, exc)
            raise
    log.info("ingest %s: %s", summary.run_id, json.dumps(summary.to_dict()))
    return summary


def run_ingest(settings: Settings, feeds_file: Path | None = None, *, include_seeds: bool = True,
               include_feeds: bool = True, only_due: bool = False, names: frozenset[str] | None = None
               ) -> IngestSummary:
    """Poll and process in one call (the CLI's ``ingest``): the feed list is read once, feed state once.
    ``names``: poll only these listed feeds."""
    feeds = feed_list(settings, feeds_file)
    unknown = sorted((names or frozenset()) - {f.name for f in feeds})
    if unknown:
        raise UnknownFeed(f"no feed named {unknown[0]!r} in the feed list")
    outcomes: list[PollOutcome] = []
    if include_feeds:
        with open_warehouse(settings, write=True, holder="feed planning") as wh:
            due, states = _plan(wh, feeds, only_due, datetime.now(UTC))
        outcomes = poll(settings, [f for f in due if names is None or f.name in names], states)
    return process(settings, outcomes, include_seeds=include_seeds, feeds=feeds)


def replay(settings: Settings, *, feed_name: str | None = None, force: bool = False) -> IngestSummary:
    """Process landed bodies (optionally of one feed) without the network; bodies already processed into this
    warehouse are skipped unless ``force`` (e.g. after a parser fix)."""
    landed = landed_refs(settings.landing_dir)
    refs = [r for r in landed if feed_name in (None, r.feed_name)]
    if feed_name is not None and not refs:
        known = sorted({r.feed_name for r in landed})
        raise UnknownFeed(f"no landed bodies for a feed named {feed_name!r}"
                          + (f" (landed feeds: {', '.join(known[:10])}{' ...' if len(known) > 10 else ''})"
                             if known else " (the landing zone is empty)"))
    now = datetime.now(UTC)
    summary = IngestSummary(run_id=new_run_id("replay", now), kind="replay")
    languages = {f.source_id: f.language for f in feed_list(settings, None)}
    with open_warehouse(settings, write=True, holder=f"replay run {summary.run_id}") as wh:
        _start(wh, summary, now)
        try:
            done = set() if force else wh.runs.processed_bodies([(r.source_id, r.body_hash) for r in refs])
            todo = [r for r in refs if (r.source_id, r.body_hash) not in done]
            summary.feeds_skipped = len(refs) - len(todo)
            jobs = [ParseJob(r, languages.get(r.source_id), datetime.fromisoformat(r.fetched_at)) for r in todo]

            def bodies_done(wh: Warehouse, bodies: list[tuple[ParseJob, ParsedFeed]], loaded: dict[str, int]) -> None:
                for job, parsed in bodies:
                    if parsed.error:
                        summary.feeds_failed += 1
                        summary.feed_errors.append({"feed": job.ref.feed_name, "url": job.ref.url,
                                                    "error": parsed.error})
                    else:
                        summary.feeds_ok += 1

            _process_bodies(wh, settings, jobs, [], summary, now, bodies_done)
            wh.atomically(lambda: _finish(wh, summary))
        except BaseException as exc:
            _fail(wh, summary, exc)
            raise
    return summary


def plan_batches(settings: Settings, outcomes: list[PollOutcome]) -> list[dict[str, object]]:
    """The polls split for ``process``: one batch on the DuckDB file (one writer), else up to
    ``process_batches`` batches by feed, dealt round-robin in feed order; the seeds go with the first."""
    count = 1 if settings.lake is None else max(1, min(settings.process_batches, len(outcomes)))
    ordered = sorted(outcomes, key=lambda o: o.source_id)
    return [{"outcomes": ordered[n::count], "include_seeds": n == 0} for n in range(count)]


def due_feed_names(settings: Settings, feeds_file: Path | None = None) -> list[str]:
    """The names of the feeds due for polling (one mapped Airflow task each). Names, not URLs: a feed URL may
    carry credentials, and XCom is stored in the metadata DB and shown in the UI."""
    return [f.name for f in plan_polls(settings, feeds_file, only_due=True)]


def poll_one(settings: Settings, name: str, feeds_file: Path | None = None) -> PollOutcome:
    """Poll the listed feed called ``name`` (its URL, with any credentials, read from the feed list here)."""
    feeds = [f for f in feed_list(settings, feeds_file) if f.name == name]
    if not feeds:
        raise ValueError(f"no feed named {name!r} in {feeds_file or settings.feeds_file}")
    return poll(settings, feeds)[0]


def replay_quarantine(settings: Settings, ids: list[str] | None = None) -> IngestSummary:
    """Re-normalise and re-validate quarantined items with today's code and rules; load what now passes.

    Items that still fail stay in quarantine with refreshed reasons."""
    now = datetime.now(UTC)
    summary = IngestSummary(run_id=new_run_id("quarantine-replay", now), kind="quarantine_replay")
    with open_warehouse(settings, write=True, holder=f"quarantine replay {summary.run_id}") as wh:
        _start(wh, summary, now)
        try:
            def replay_open_items() -> None:
                items = [renormalize(item) for item in wh.quarantine.open_items(ids)]
                process_chunk(wh, settings, items, summary, now)
                _finish(wh, summary)

            wh.atomically(replay_open_items, _restorer(summary))
        except BaseException as exc:
            _fail(wh, summary, exc)
            raise
    return summary
