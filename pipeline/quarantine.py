"""Quarantine: items that failed validation, kept whole with the reasons, until a fix lets them load."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING, Any

import duckdb

from pipeline.models import Item
from pipeline.normalize import sha256_hex

if TYPE_CHECKING:
    from pipeline.validate import ValidationReport


def item_to_json(item: Item) -> dict[str, Any]:
    data = asdict(item)
    data.pop("story_features", None)  # derived; recomputed on replay
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


def release_quarantined(con: duckdb.DuckDBPyConnection, article_ids: list[str], now: datetime) -> int:
    """Mark open quarantine rows as released once their article has loaded (after a fix)."""
    if not article_ids:
        return 0
    rows = con.execute(
        "UPDATE quarantine SET status = 'released', released_at = ? "
        "WHERE status = 'open' AND list_contains(?, article_id) RETURNING quarantine_id",
        [now, article_ids]).fetchall()
    return len(rows)


def record_validation(con: duckdb.DuckDBPyConnection, run_id: str, report: ValidationReport) -> None:
    """Keep each validation run's outcome: success, rows, per-expectation counts and a few examples."""
    batch = con.execute("SELECT count(*) FROM validation_runs WHERE run_id = ?", [run_id]).fetchall()[0][0]
    con.execute("INSERT INTO validation_runs VALUES (?, ?, ?, ?, ?, ?, ?)",
                [run_id, batch, report.ran_at, report.success, report.rows_checked, report.rows_failed,
                 json.dumps(report.results)])


def list_quarantine(con: duckdb.DuckDBPyConnection, status: str | None = "open",
                    limit: int = 1000) -> list[dict[str, Any]]:
    rows = con.execute(
        "SELECT quarantine_id, run_id, source_id, article_id, reasons, created_at, status, "
        "json_extract_string(item, '$.title') AS title FROM quarantine "
        "WHERE ? IS NULL OR status = ? ORDER BY created_at DESC, quarantine_id LIMIT ?",
        [status, status, limit]).fetchall()
    return [{"id": r[0], "run_id": r[1], "source_id": r[2], "article_id": r[3], "reasons": json.loads(r[4]),
             "created_at": r[5].isoformat(), "status": r[6], "title": r[7]} for r in rows]


def get_quarantined(con: duckdb.DuckDBPyConnection, quarantine_id: str) -> dict[str, Any] | None:
    rows = con.execute("SELECT quarantine_id, run_id, source_id, reasons, created_at, status, item "
                       "FROM quarantine WHERE quarantine_id = ?", [quarantine_id]).fetchall()
    if not rows:
        return None
    r = rows[0]
    return {"id": r[0], "run_id": r[1], "source_id": r[2], "reasons": json.loads(r[3]),
            "created_at": r[4].isoformat(), "status": r[5], "item": json.loads(r[6])}


def open_items(con: duckdb.DuckDBPyConnection, ids: list[str] | None = None) -> list[Item]:
    rows = con.execute("SELECT item FROM quarantine WHERE status = 'open' AND (? IS NULL OR list_contains(?, "
                       "quarantine_id)) ORDER BY created_at, quarantine_id", [ids, ids]).fetchall()
    return [item_from_json(json.loads(r[0])) for r in rows]
