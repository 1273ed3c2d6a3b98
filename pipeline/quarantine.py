"""Quarantine: items that failed validation, kept whole with the reasons, until a fix lets them load."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from pipeline.models import Item
from pipeline.normalize import sha256_hex

if TYPE_CHECKING:
    from pipeline.store import Warehouse
    from pipeline.validate import ValidationReport

def quarantine_id(item: Item) -> str:
    """Stable per source, article and content: the same bad item seen again refreshes its row."""
    return sha256_hex(item.source_id, item.article_id, item.content_hash)[:16]


def quarantine_items(wh: Warehouse, rejected: list[tuple[Item, list[dict[str, Any]]]], run_id: str,
                     now: datetime) -> None:
    wh.quarantine.put([(quarantine_id(item), item, reasons) for item, reasons in rejected], run_id, now)


def record_validation(wh: Warehouse, run_id: str, report: ValidationReport) -> None:
    wh.quarantine.record_validation(run_id, report.ran_at, report.success, report.rows_checked, report.rows_failed,
                                    report.results)
