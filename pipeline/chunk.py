"""One chunk of a run: classify, validate (with the per-source error-rate gate), quarantine what failed and
load what passed, inside the caller's transaction, counting every item in the run's summary."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from pipeline.classify.classifier import get_classifier
from pipeline.load import load_items
from pipeline.models import IngestSummary, Item, classified_text
from pipeline.quarantine import quarantine_items, record_validation
from pipeline.settings import Settings
from pipeline.store import Warehouse
from pipeline.stories import StoryIndex
from pipeline.timing import timed
from pipeline.validate import Failure, validate_items
from pipeline.validation_docs import write_page

log = logging.getLogger(__name__)


def process_chunk(wh: Warehouse, settings: Settings, items: list[Item], summary: IngestSummary,
                            now: datetime, stories: StoryIndex | None = None) -> dict[str, int]:
    """One chunk's items through classify, validate (with the per-source error-rate gate), quarantine and load,
    inside the caller's transaction. Returns the items newly loaded per source."""
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
    # an entry the warehouse already holds unchanged (a feed repeats its last 20 items; seeds are re-read) is a
    # duplicate as the load would find it: it is not classified or validated again, so a run with nothing new
    # never loads the model or Great Expectations
    stored = wh.articles.stored([item.article_id for item in unique])
    fresh = [i for i in unique if (s := stored.get(i.article_id)) is None or s.content_hash != i.content_hash]
    summary.duplicates += len(unique) - len(fresh)
    unique = fresh
    if not unique:
        return {}

    with timed(summary.stage_seconds, "classify"):  # what the parse workers did not classify already
        relevance = {item.article_id: item.relevance for item in unique if item.relevance is not None}
        todo = [item for item in unique if item.relevance is None]
        if todo:
            verdicts = get_classifier(settings.taxonomy_file, settings.model_file).classify_many(
                [(item.title, classified_text(item.summary, item.body)) for item in todo])
            relevance.update((item.article_id, verdict) for item, verdict in zip(todo, verdicts, strict=True))
    with timed(summary.stage_seconds, "validate"):
        report = validate_items(unique, relevance, now, settings.warn_only_expectations)
        if report.data_docs:
            page = write_page(settings.validation_dir, summary.run_id, report.data_docs)
            summary.validation_reports.append(str(page))
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
    with wh.transaction():
        with timed(summary.stage_seconds, "quarantine"):
            quarantine_items(wh, rejected, summary.run_id, now)
            record_validation(wh, summary.run_id, report)
        result = load_items(wh, passed, relevance, summary.run_id, now, timings=summary.stage_seconds,
                            stories=stories, weights=settings.importance_weights)
        released = set(result.loaded) | set(result.updated) | set(result.duplicates)
        wh.quarantine.release(sorted(released), now)
    summary.quarantined += len(rejected)
    summary.validation = "; ".join(filter(None, [summary.validation, report.summary_line()]))
    log.info("run %s: %s", summary.run_id, report.summary_line())
    summary.loaded += len(result.loaded)
    summary.updated += len(result.updated)
    summary.duplicates += result.duplicate_count
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
