"""Validation rules for article candidates. Each rule has a severity: ``error`` sends the item to
quarantine, ``warning`` lets it load with a flag."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pipeline.models import Item
from pipeline.normalize import MOJIBAKE as _MOJIBAKE

Severity = Literal["error", "warning"]
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Failure:
    expectation: str
    column: str
    value: Any
    severity: Severity

    def as_dict(self) -> dict[str, Any]:
        value = self.value if isinstance(self.value, int | float | bool | type(None)) else str(self.value)[:200]
        return {"expectation": self.expectation, "column": self.column, "value": value,
                "severity": self.severity}


def check_item(item: Item, now: datetime) -> list[Failure]:
    """Every rule the item breaks."""
    failures: list[Failure] = []

    def fail(expectation: str, column: str, value: Any, severity: Severity = "error") -> None:
        failures.append(Failure(expectation, column, value, severity))

    if not item.title.strip() and not item.summary.strip():
        fail("title_or_summary_present", "title", item.title)
    if item.source_kind == "feed" and not (item.url or item.guid):
        fail("url_or_guid_present", "url", item.url)
    if item.url and not re.match(r"^https?://", item.url, re.I):
        fail("url_scheme_http", "url", item.url)
    if item.published_at is not None and not (EARLIEST <= item.published_at <= now + timedelta(days=1)):
        fail("published_at_in_range", "published_at", item.published_at.isoformat())
    if len(item.title) > 1000:
        fail("title_length_max", "title", len(item.title))
    if len(item.body) > 2_000_000:
        fail("body_length_max", "body", len(item.body))
    for column in ("title", "summary", "body"):
        text = getattr(item, column)
        if _CONTROL.search(text):
            fail("no_control_characters", column, text[:80])
        if _MOJIBAKE.search(text):
            fail("no_mojibake", column, _MOJIBAKE.search(text).group(0), "warning")  # type: ignore[union-attr]
    if item.language is not None and not _LANGUAGE.match(item.language):
        fail("language_code_valid", "language", item.language, "warning")
    if item.title.strip() and item.title.strip().lower() == item.source_name.strip().lower():
        fail("title_not_outlet_name", "title", item.title)
    return failures
