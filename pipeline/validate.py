"""The validation gate: a Great Expectations 1.x suite, defined here as code and versioned with it, run on
every batch before anything reaches ``articles``.

Each expectation carries a severity in its ``meta``: ``error`` sends the row to quarantine, ``warning`` lets it
load with a flag. Rows are mapped back to items through a ``row_id`` column. The whole run is validated as
one batch (GX is imported once per process); error rates are then judged per source."""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, Literal

from pipeline.models import Item, Relevance
from pipeline.normalize import CONTROL_CHARS, MOJIBAKE

log = logging.getLogger(__name__)

Severity = Literal["error", "warning"]
SUITE_NAME = "newswatch_articles"
SUITE_VERSION = "2026.11.1"
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Failure:
    expectation: str
    column: str
    value: Any
    severity: Severity

    def as_dict(self) -> dict[str, Any]:
        value = self.value.item() if hasattr(self.value, "item") else self.value  # numpy scalar -> Python
        value = value if isinstance(value, int | float | bool | type(None)) else str(value)[:200]
        return {"expectation": self.expectation, "column": self.column, "value": value, "severity": self.severity}


@dataclass(slots=True)
class ValidationReport:
    """Per-row failures and the suite's outcome, ready to store and to summarise."""

    rows_checked: int
    failures: dict[int, list[Failure]] = field(default_factory=dict)  # row index -> failures
    results: list[dict[str, Any]] = field(default_factory=list)  # per expectation: counts and examples
    ran_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    data_docs: str = ""  # the run as Great Expectations' own Data Docs validation page (HTML)

    def errors(self, row: int) -> list[Failure]:
        return [f for f in self.failures.get(row, []) if f.severity == "error"]

    def warnings(self, row: int) -> list[Failure]:
        return [f for f in self.failures.get(row, []) if f.severity == "warning"]

    @property
    def rows_failed(self) -> int:
        return sum(1 for row in self.failures if self.errors(row))

    @property
    def success(self) -> bool:
        return self.rows_failed == 0

    def summary_line(self) -> str:
        failing = [f"{r['expectation']}={r['unexpected_count']}" for r in self.results if r["unexpected_count"]]
        return (f"validated {self.rows_checked} rows: {self.rows_failed} quarantined"
                f"{'; ' + ', '.join(failing) if failing else ''}")


# (expectation name shown to users, GX expectation class name, kwargs, severity, column for reports)
def expectation_specs(now: datetime) -> list[tuple[str, str, dict[str, Any], Severity]]:
    import pandas as pd

    latest = pd.Timestamp(now + timedelta(days=1))
    return [
        ("title_or_summary_present", "ExpectColumnValuesToBeBetween",
         {"column": "title_or_summary_chars", "min_value": 1}, "error"),
        ("url_or_guid_present", "ExpectColumnValuesToNotBeNull", {"column": "identity"}, "error"),
        ("url_scheme_http", "ExpectColumnValuesToMatchRegex", {"column": "url", "regex": r"^(?i:https?)://\S+$"},
         "error"),
        ("published_at_in_range", "ExpectColumnValuesToBeBetween",
         {"column": "published_at", "min_value": pd.Timestamp(EARLIEST), "max_value": latest}, "error"),
        ("title_length_max", "ExpectColumnValueLengthsToBeBetween", {"column": "title", "max_value": 1000}, "error"),
        ("body_length_max", "ExpectColumnValueLengthsToBeBetween", {"column": "body", "max_value": 2_000_000},
         "error"),
        ("title_no_control_characters", "ExpectColumnValuesToNotMatchRegex",
         {"column": "title", "regex": CONTROL_CHARS}, "error"),
        ("summary_no_control_characters", "ExpectColumnValuesToNotMatchRegex",
         {"column": "summary", "regex": CONTROL_CHARS}, "error"),
        ("body_no_control_characters", "ExpectColumnValuesToNotMatchRegex",
         {"column": "body", "regex": CONTROL_CHARS}, "error"),
        ("title_not_outlet_name", "ExpectColumnValuesToBeInSet",
         {"column": "title_is_outlet_name", "value_set": [False]}, "error"),
        ("source_readable", "ExpectColumnValuesToBeInSet",
         {"column": "source_unreadable", "value_set": [False]}, "error"),
        ("relevance_score_in_unit_interval", "ExpectColumnValuesToBeBetween",
         {"column": "relevance_score", "min_value": 0.0, "max_value": 1.0}, "error"),
        ("relevance_label_known", "ExpectColumnValuesToBeInSet",
         {"column": "relevance_label", "value_set": [0, 1, 2]}, "error"),
        ("ids_unique_in_batch", "ExpectColumnValuesToBeUnique", {"column": "article_id"}, "error"),
        ("title_no_mojibake", "ExpectColumnValuesToNotMatchRegex",
         {"column": "title", "regex": MOJIBAKE.pattern}, "warning"),
        ("summary_no_mojibake", "ExpectColumnValuesToNotMatchRegex",
         {"column": "summary", "regex": MOJIBAKE.pattern}, "warning"),
        ("language_code_valid", "ExpectColumnValuesToMatchRegex",
         {"column": "language", "regex": r"^[a-z]{2,3}$"}, "warning"),
        ("title_min_length", "ExpectColumnValuesToBeBetween", {"column": "title_chars", "min_value": 3}, "warning"),
        ("url_points_to_an_article", "ExpectColumnValuesToBeInSet",
         {"column": "url_is_homepage", "value_set": [False]}, "warning"),
        ("date_known", "ExpectColumnValuesToBeInSet",
         {"column": "date_fallback", "value_set": [False]}, "warning"),
    ]


@lru_cache(maxsize=1)
def _gx() -> Any:
    """Import Great Expectations once per process, quietly, and build the ephemeral batch definition."""
    for noisy in ("great_expectations", "great_expectations._docs_decorators"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    _thread_only_progress_lock()
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    asset = context.data_sources.add_pandas("newswatch").add_dataframe_asset("items")
    return gx, asset.add_batch_definition_whole_dataframe("batch")


def _thread_only_progress_lock() -> None:
    """Give tqdm a lock of this process's own. GX opens a (disabled) tqdm bar for every validation, and tqdm's
    default lock includes a multiprocessing semaphore that every process forked after its creation shares: a
    forked run SIGKILLed inside a validation left it held, and its parent and every later fork waited forever
    (the kill test, which forks its runs, showed it). Progress bars are off, so a thread lock is all it needs."""
    import tqdm.auto
    import tqdm.std

    for bar_class in {tqdm.std.tqdm, tqdm.auto.tqdm}:
        bar_class.set_lock(threading.RLock())


def prepare() -> None:
    """Import Great Expectations now (~6 s of CPU) rather than at the first batch: a large run calls this while
    its first chunk is being parsed in the pool and the main process would otherwise wait idle."""
    _gx()


def build_suite(now: datetime, warn_only: frozenset[str] = frozenset()) -> Any:
    gx, _ = _gx()
    suite = gx.ExpectationSuite(name=SUITE_NAME, meta={"version": SUITE_VERSION})
    for name, class_name, kwargs, severity in expectation_specs(now):
        level = "warning" if name in warn_only else severity
        suite.add_expectation(getattr(gx.expectations, class_name)(**kwargs, meta={"name": name, "severity": level}))
    return suite


def _homepage(url: str | None) -> bool:
    if not url:
        return False
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.path in ("", "/") and not parts.query


def items_frame(items: list[Item], relevance: dict[str, Relevance]) -> Any:
    """The batch as GX validates it, built a column at a time (a dict per row cost twice as much)."""
    import pandas as pd

    titles = [item.title.strip() for item in items]
    verdicts = [relevance.get(item.article_id) for item in items]
    frame = pd.DataFrame({
        "row_id": range(len(items)), "article_id": [item.article_id for item in items],
        "source_id": [item.source_id for item in items], "title": [item.title for item in items],
        "summary": [item.summary for item in items], "body": [item.body for item in items],
        "url": [item.url for item in items],
        "identity": [item.url or item.guid or (item.source_name if item.source_kind == "seed" else None)
                     for item in items],
        "published_at": [item.published_at for item in items], "language": [item.language for item in items],
        "title_or_summary_chars": [len(title) + len(item.summary.strip())
                                   for title, item in zip(titles, items, strict=True)],
        "title_chars": [len(title) for title in titles],
        "title_is_outlet_name": [bool(title) and title.casefold() == item.source_name.strip().casefold()
                                 for title, item in zip(titles, items, strict=True)],
        "url_is_homepage": [_homepage(item.url) for item in items],
        "date_fallback": ["date_missing_fetch_time_used" in item.flags for item in items],
        "source_unreadable": ["source_unreadable" in item.flags for item in items],
        "relevance_score": [rel.score if rel else None for rel in verdicts],
        "relevance_label": [rel.label if rel else None for rel in verdicts],
    })
    frame["published_at"] = pd.to_datetime(frame["published_at"], utc=True)
    return frame


def validate_items(items: list[Item], relevance: dict[str, Relevance], now: datetime | None = None,
                   warn_only: frozenset[str] = frozenset()) -> ValidationReport:
    """Run the suite over one batch; row indexes in the report are positions in ``items``."""
    now = now or datetime.now(UTC)
    report = ValidationReport(rows_checked=len(items), ran_at=now)
    if not items:
        return report
    _, batch_definition = _gx()
    frame = items_frame(items, relevance)
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
    result = batch.validate(build_suite(now, warn_only), result_format={
        "result_format": "COMPLETE", "unexpected_index_column_names": ["row_id"], "partial_unexpected_count": 3})
    failures: dict[int, list[Failure]] = defaultdict(list)
    for outcome in result.results:
        config = outcome.expectation_config
        name, severity = config.meta["name"], config.meta["severity"]
        column = config.kwargs.get("column", "")
        details = outcome.result or {}
        unexpected = details.get("unexpected_index_list") or []
        for entry in unexpected:
            row = int(entry["row_id"])
            failures[row].append(Failure(name, column, entry.get(column), severity))
        report.results.append({
            "expectation": name, "type": config.type, "column": column, "severity": severity,
            "success": bool(outcome.success), "unexpected_count": int(details.get("unexpected_count") or 0),
            "examples": [str(v)[:120] for v in (details.get("partial_unexpected_list") or [])[:3]],
        })
    report.failures = dict(failures)
    report.data_docs = data_docs_page(result)
    return report


@lru_cache(maxsize=1)
def _data_docs_renderers() -> tuple[Any, Any]:
    """GX's page renderer and its Jinja view, built once per process: each view builds its own Jinja environment,
    which compiles the page templates again on first use (an 8,000-row chunk's validation 0.22 -> 0.19 s)."""
    from great_expectations.render.renderer import ValidationResultsPageRenderer
    from great_expectations.render.view import DefaultJinjaPageView

    return ValidationResultsPageRenderer(), DefaultJinjaPageView()


def data_docs_page(result: Any) -> str:
    """GX's Data Docs page for one validation result, rendered as its site builder does (a GX user finds the
    familiar report); empty when rendering fails, which must never fail a run."""
    try:
        renderer, view = _data_docs_renderers()
        return str(view.render(renderer.render(result)))
    except Exception:  # a renderer bug is a missing report, not a failed ingest
        log.warning("could not render the Data Docs page for this validation run", exc_info=True)
        return ""
