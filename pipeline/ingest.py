"""The ingest run: poll feeds into the landing zone, then process landed bodies and seeds through
normalise -> validate -> dedup -> classify -> load, with every item accounted for."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from pipeline.classify.classifier import get_classifier
from pipeline.feeds.config import FeedConfig, load_feed_list
from pipeline.feeds.health import due_feeds, load_states, record_outcome, register_feeds
from pipeline.feeds.landing import LandingRef, landed_refs
from pipeline.feeds.parallel import FeedParserPool, ParseJob
from pipeline.feeds.parse import ParsedFeed
from pipeline.feeds.poll import PollOutcome, poll_feeds
from pipeline.load import load_items, open_story_index
from pipeline.models import Item
from pipeline.normalize import renormalize
from pipeline.quarantine import open_items, quarantine_items, record_validation, release_quarantined
from pipeline.settings import Settings
from pipeline.sources.seeds import SOURCE_ID as SEEDS_SOURCE_ID
from pipeline.sources.seeds import load_seeds
from pipeline.stories import StoryIndex
from pipeline.validate import Failure, validate_items
from pipeline.warehouse import connect

log = logging.getLogger(__name__)
CHUNK_BODIES = 400  # feed bodies per transaction (about 20,000 items for 50-item feeds)


@dataclass(slots=True)
class IngestSummary:
    run_id: str
    kind: str = "ingest"
    items_seen: int = 0
    loaded: int = 0
    updated: int = 0
    duplicates: int = 0
    quarantined: int = 0
    relevant: int = 0
    feeds_ok: int = 0
    feeds_failed: int = 0
    feeds_skipped: int = 0
    feed_errors: list[dict[str, str]] = field(default_factory=list)
    feed_warnings: list[dict[str, str]] = field(default_factory=list)
    validation_warnings: int = 0
    gate_failures: list[dict[str, Any]] = field(default_factory=list)
    validation: str = ""
    stage_seconds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def accounted(self) -> bool:
        return self.items_seen == self.loaded + self.updated + self.duplicates + self.quarantined


def new_run_id(kind: str = "ingest", now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return f"{kind}-{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


def feed_list(settings: Settings, feeds_file: Path | None) -> list[FeedConfig]:
    path = feeds_file or settings.feeds_file
    return load_feed_list(path) if Path(path).exists() else []


def plan_polls(settings: Settings, feeds_file: Path | None = None, *, only_due: bool = True,
               now: datetime | None = None) -> list[FeedConfig]:
    """The feeds to poll now (registering new ones in the warehouse)."""
    feeds = feed_list(settings, feeds_file)
    now = now or datetime.now(UTC)
    with connect(settings.db, lock_timeout_s=settings.db_lock_timeout_s) as con:
        register_feeds(con, feeds)
        states = load_states(con, feeds)
    return due_feeds(feeds, states, now) if only_due else [f for f in feeds if not (
        states.get(f.source_id) and states[f.source_id].retired)]


def poll(settings: Settings, feeds: list[FeedConfig]) -> list[dict[str, Any]]:
    """Fetch the given feeds into the landing zone. Returns small JSON-able outcomes (for XCom)."""
    with connect(settings.db, read_only=True, lock_timeout_s=settings.db_lock_timeout_s) as con:
        states = load_states(con, feeds)
    return [o.to_dict() for o in poll_feeds(feeds, states, settings)]


def _already_processed(con: duckdb.DuckDBPyConnection, refs: list[LandingRef]) -> set[tuple[str, str]]:
    if not refs:
        return set()
    con.register("landed_refs", pa.table({"source_id": [r.source_id for r in refs],
                                          "body_hash": [r.body_hash for r in refs]}))
    rows = con.execute("SELECT p.source_id, p.body_hash FROM processed_bodies p "
                       "JOIN landed_refs USING (source_id, body_hash)").fetchall()
    con.unregister("landed_refs")
    return {(r[0], r[1]) for r in rows}


def _mark_processed(con: duckdb.DuckDBPyConnection, refs: list[LandingRef], parsed: list[ParsedFeed],
                    run_id: str, now: datetime) -> None:
    for ref, feed in zip(refs, parsed, strict=True):
        con.execute("INSERT OR REPLACE INTO processed_bodies VALUES (?, ?, ?, ?, ?)",
                    [ref.source_id, ref.body_hash, now, run_id, len(feed.items)])


def process(settings: Settings, outcomes: list[dict[str, Any]], *, include_seeds: bool = True,
            run_id: str | None = None, kind: str = "ingest", feeds_file: Path | None = None,
            force: bool = False) -> IngestSummary:
    """Parse what the polls landed (skipping bodies already processed unless ``force``), add the seeds,
    validate, dedup, classify and load: one run."""
    now = datetime.now(UTC)
    summary = IngestSummary(run_id=run_id or new_run_id(kind, now), kind=kind)
    languages = {f.source_id: f.language for f in feed_list(settings, feeds_file)}
    polls = [PollOutcome.from_dict(o) for o in outcomes]
    with connect(settings.db, read_only=True, lock_timeout_s=settings.db_lock_timeout_s) as con:
        landed = [o.landing_ref for o in polls if o.landing_ref is not None]
        done = set() if force else _already_processed(con, landed)
    jobs_by_source: dict[str, ParseJob] = {}
    for outcome in polls:
        ref = outcome.landing_ref
        if ref is not None and (ref.source_id, ref.body_hash) not in done:
            jobs_by_source[outcome.source_id] = ParseJob(ref, languages.get(outcome.source_id),
                                                         datetime.fromisoformat(ref.fetched_at))
    seeds = load_seeds(settings.seeds_dir) if include_seeds and settings.seeds_dir.exists() else []
    with connect(settings.db, lock_timeout_s=settings.db_lock_timeout_s) as con:
        _start_run(con, summary, now)
        _ensure_seed_source(con)
        parsed_list, times_list, per_source_loaded = _parse_and_load(
            con, settings, list(jobs_by_source.values()), seeds, summary, now)
        parsed_by_source = dict(zip(jobs_by_source, parsed_list, strict=True))
        item_times_by_source = dict(zip(jobs_by_source, times_list, strict=True))
        with _stage(summary, "record"):
            for outcome in polls:
                parsed = parsed_by_source.get(outcome.source_id)
                record_outcome(con, outcome, item_times=item_times_by_source.get(outcome.source_id, []),
                               ttl_minutes=parsed.ttl_minutes if parsed else None,
                               parse_error=parsed.error if parsed else None,
                               items_loaded=per_source_loaded.get(outcome.source_id, 0))
                _count_feed(summary, outcome, parsed)
        _finish_run(con, summary, now)
    log.info("ingest %s: %s", summary.run_id, json.dumps(summary.to_dict()))
    return summary


def _parse_and_load(con: duckdb.DuckDBPyConnection, settings: Settings, jobs: list[ParseJob],
                    extra_items: list[Item], summary: IngestSummary,
                    now: datetime) -> tuple[list[ParsedFeed], list[list[datetime]], dict[str, int]]:
    """Parse landed bodies and load their items in chunks of CHUNK_BODIES bodies, one transaction each, so memory
    stays bounded however big the run; one story index serves the whole run. Returns, aligned with ``jobs``, each
    feed's parse result (its items freed) and item times, and the items newly loaded per source."""
    parsed_all: list[ParsedFeed] = []
    times_all: list[list[datetime]] = []
    loaded_per_source: dict[str, int] = {}
    stories: StoryIndex | None = None
    with FeedParserPool() as parser:
        for start in range(0, max(len(jobs), 1), CHUNK_BODIES):
            chunk = jobs[start:start + CHUNK_BODIES]
            with _stage(summary, "parse"):
                parsed_chunk = parser.parse(chunk)
            items = [item for parsed in parsed_chunk for item in parsed.items]
            if start == 0:
                items.extend(extra_items)
                stories = open_story_index(con, items, now)
            for source_id, count in _validate_classify_load(con, settings, items, summary, now, stories).items():
                loaded_per_source[source_id] = loaded_per_source.get(source_id, 0) + count
            for job, parsed in zip(chunk, parsed_chunk, strict=True):
                times_all.append([i.published_at for i in parsed.items if i.published_at])
                _mark_processed(con, [job.ref], [parsed], summary.run_id, now)
                parsed.items = []  # keep the feed's metadata, free its items
                parsed_all.append(parsed)
    return parsed_all, times_all, loaded_per_source


@contextmanager
def _stage(summary: IngestSummary, name: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        summary.stage_seconds[name] = round(summary.stage_seconds.get(name, 0.0) + time.perf_counter() - started, 4)


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


def _validate_classify_load(con: duckdb.DuckDBPyConnection, settings: Settings, items: list[Item],
                            summary: IngestSummary, now: datetime,
                            stories: StoryIndex | None = None) -> dict[str, int]:
    summary.items_seen += len(items)
    unique: list[Item] = []
    seen: set[tuple[str, str]] = set()
    for item in items:  # the same entry twice in one batch is a duplicate, not a validation problem
        key = (item.article_id, item.content_hash)
        if key in seen:
            summary.duplicates += 1
        else:
            seen.add(key)
            unique.append(item)

    with _stage(summary, "classify"):
        verdicts = get_classifier(settings.taxonomy_file, settings.model_file).classify_many(
            [(item.title, f"{item.summary}\n{item.body}") for item in unique])
        relevance = {item.article_id: verdict for item, verdict in zip(unique, verdicts, strict=True)}
    with _stage(summary, "validate"):
        report = validate_items(unique, relevance, now, settings.warn_only_expectations)
    rejected_rows = {row for row in range(len(unique)) if report.errors(row)}
    for source_id, rows in _rows_by_source(unique).items():
        failed = sum(1 for row in rows if row in rejected_rows)
        rate = failed / len(rows)
        if len(rows) >= settings.validation_min_batch and rate > settings.validation_max_error_rate:
            summary.gate_failures.append({"source_id": source_id, "rows": len(rows), "failed": failed,
                                          "error_rate": round(rate, 3)})
            for row in rows:
                report.failures.setdefault(row, []).append(
                    Failure("batch_error_rate", "source_id", round(rate, 3), "error"))
                rejected_rows.add(row)

    passed: list[Item] = []
    rejected: list[tuple[Item, list[dict[str, Any]]]] = []
    for row, item in enumerate(unique):
        if row in rejected_rows:
            rejected.append((item, [f.as_dict() for f in report.failures[row]]))
            continue
        warnings = report.warnings(row)
        if warnings:
            summary.validation_warnings += 1
            item.flags.extend(f"warn:{w.expectation}" for w in warnings if f"warn:{w.expectation}" not in item.flags)
        passed.append(item)
    with _stage(summary, "quarantine"):
        quarantine_items(con, rejected, summary.run_id, now)
        record_validation(con, summary.run_id, report)
    summary.quarantined += len(rejected)
    summary.validation = "; ".join(filter(None, [summary.validation, report.summary_line()]))
    log.info("run %s: %s", summary.run_id, report.summary_line())

    result = load_items(con, passed, relevance, summary.run_id, now, timings=summary.stage_seconds, stories=stories)
    summary.loaded += len(result.loaded)
    summary.updated += len(result.updated)
    summary.duplicates += result.duplicate_count
    released = set(result.loaded) | set(result.updated) | set(result.duplicates)
    release_quarantined(con, sorted(released), now)
    summary.relevant += sum(1 for a in set(result.loaded) | set(result.updated) if relevance[a].label >= 1)
    new_members = set(result.loaded) | set(result.duplicates)
    per_source: dict[str, int] = {}
    for item in passed:
        if item.article_id in new_members:
            per_source[item.source_id] = per_source.get(item.source_id, 0) + 1
    return per_source


def _rows_by_source(items: list[Item]) -> dict[str, list[int]]:
    rows: dict[str, list[int]] = {}
    for row, item in enumerate(items):
        rows.setdefault(item.source_id, []).append(row)
    return rows


def _ensure_seed_source(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("INSERT INTO sources (source_id, kind, name) VALUES (?, 'seed', 'seed documents') "
                "ON CONFLICT DO NOTHING", [SEEDS_SOURCE_ID])


def _start_run(con: duckdb.DuckDBPyConnection, summary: IngestSummary, now: datetime) -> None:
    con.execute("INSERT INTO runs (run_id, kind, started_at, status) VALUES (?, ?, ?, 'running') "
                "ON CONFLICT DO NOTHING", [summary.run_id, summary.kind, now])


def _finish_run(con: duckdb.DuckDBPyConnection, summary: IngestSummary, started: datetime) -> None:
    con.execute(
        "UPDATE runs SET finished_at = ?, status = 'success', items_seen = ?, loaded = ?, updated = ?, "
        "duplicates = ?, quarantined = ?, feeds_ok = ?, feeds_failed = ?, details = ? WHERE run_id = ?",
        [datetime.now(UTC), summary.items_seen, summary.loaded, summary.updated, summary.duplicates,
         summary.quarantined, summary.feeds_ok, summary.feeds_failed, json.dumps(summary.to_dict()),
         summary.run_id])


def run_ingest(settings: Settings, feeds_file: Path | None = None, *, include_seeds: bool = True,
               include_feeds: bool = True, only_due: bool = False) -> IngestSummary:
    """Poll and process in one call (the CLI's ``ingest``)."""
    outcomes: list[dict[str, Any]] = []
    if include_feeds:
        feeds = plan_polls(settings, feeds_file, only_due=only_due)
        outcomes = poll(settings, feeds)
    return process(settings, outcomes, include_seeds=include_seeds, feeds_file=feeds_file)


def replay(settings: Settings, *, feed_name: str | None = None, force: bool = False) -> IngestSummary:
    """Process landed bodies (optionally of one feed) without the network; bodies already processed into this
    warehouse are skipped unless ``force`` (e.g. after a parser fix)."""
    refs = [r for r in landed_refs(settings.landing_dir) if feed_name in (None, r.feed_name)]
    now = datetime.now(UTC)
    summary = IngestSummary(run_id=new_run_id("replay", now), kind="replay")
    languages = {f.source_id: f.language for f in feed_list(settings, None)}
    with connect(settings.db, read_only=True, lock_timeout_s=settings.db_lock_timeout_s) as con:
        done = set() if force else _already_processed(con, refs)
    todo = [r for r in refs if (r.source_id, r.body_hash) not in done]
    summary.feeds_skipped = len(refs) - len(todo)
    jobs = [ParseJob(r, languages.get(r.source_id), datetime.fromisoformat(r.fetched_at)) for r in todo]
    with connect(settings.db, lock_timeout_s=settings.db_lock_timeout_s) as con:
        _start_run(con, summary, now)
        parsed_list, _, _ = _parse_and_load(con, settings, jobs, [], summary, now)
        for ref, parsed in zip(todo, parsed_list, strict=True):
            if parsed.error:
                summary.feeds_failed += 1
                summary.feed_errors.append({"feed": ref.feed_name, "url": ref.url, "error": parsed.error})
            else:
                summary.feeds_ok += 1
        _finish_run(con, summary, now)
    return summary


def due_feed_specs(settings: Settings, feeds_file: Path | None = None) -> list[dict[str, Any]]:
    """The feeds due for polling as small dicts (one per mapped Airflow task)."""
    return [{"name": f.name, "url": f.url, "language": f.language, "tags": list(f.tags)}
            for f in plan_polls(settings, feeds_file, only_due=True)]


def poll_one(settings: Settings, spec: dict[str, Any]) -> dict[str, Any]:
    """Poll a single feed given as a dict from ``due_feed_specs``; returns its outcome dict."""
    feed = FeedConfig(name=spec["name"], url=spec["url"], language=spec.get("language"),
                      tags=tuple(spec.get("tags") or ()))
    return poll(settings, [feed])[0]


def replay_quarantine(settings: Settings, ids: list[str] | None = None) -> IngestSummary:
    """Re-normalise and re-validate quarantined items with today's code and rules; load what now passes.

    Items that still fail stay in quarantine with refreshed reasons."""
    now = datetime.now(UTC)
    summary = IngestSummary(run_id=new_run_id("quarantine-replay", now), kind="quarantine_replay")
    with connect(settings.db, lock_timeout_s=settings.db_lock_timeout_s) as con:
        items = [renormalize(item) for item in open_items(con, ids)]
        _start_run(con, summary, now)
        _validate_classify_load(con, settings, items, summary, now)
        _finish_run(con, summary, now)
    return summary
