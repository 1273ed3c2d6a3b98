"""Quarantine: items that failed validation, kept whole with the reasons, until a fix lets them load."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import Any

import duckdb

from pipeline.models import Item
from pipeline.normalize import sha256_hex


def item_to_json(item: Item) -> dict[str, Any]:
    data = asdict(item)
    for key in ("published_at", "updated_at"):
        if data[key] is not None:
            data[key] = data[key].isoformat()
    return data


def item_from_json(data: dict[str, Any]) -> Item:
    data = dict(data)
    for key in ("published_at", "updated_at"):
        if data.get(key):
            data[key] = datetime.fromisoformat(data[key])
    return Item(**data)


def quarantine_items(con: duckdb.DuckDBPyConnection, rejected: list[tuple[Item, list[dict[str, Any]]]],
                     run_id: str, now: datetime) -> None:
    """Record each rejected item once (a later sighting refreshes its reasons and run)."""
    for item, reasons in rejected:
        quarantine_id = sha256_hex(item.source_id, item.article_id, item.content_hash)[:16]
        con.execute(
            """
            INSERT INTO quarantine (quarantine_id, run_id, source_id, article_id, item, reasons, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (quarantine_id) DO UPDATE SET run_id = excluded.run_id, reasons = excluded.reasons
            """,
            [quarantine_id, run_id, item.source_id, item.article_id,
             json.dumps(item_to_json(item), ensure_ascii=False, default=str), json.dumps(reasons), now],
        )
