"""Quarantine and validation results: items that failed validation, kept whole with the reasons until a fix
lets them load, and every validation run's outcome."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import pyarrow as pa

from pipeline.models import Item, item_from_json, item_to_json
from pipeline.store.arrow_columns import utc_timestamps
from pipeline.store.connection import Connection


class QuarantineStore:
    def __init__(self, con: Connection) -> None:
        self._con = con

    def put(self, rejected: list[tuple[str, Item, list[dict[str, Any]]]], run_id: str, now: datetime) -> None:
        """Record each rejected (quarantine_id, item, reasons) once; a later sighting refreshes reasons and run.
        One set-based merge for the whole batch (a merge per row cost ~3 ms each: a third of a second per
        hundred bad rows)."""
        if not rejected:
            return
        latest = {quarantine_id: (item, reasons) for quarantine_id, item, reasons in rejected}  # later wins
        items = [item for item, _ in latest.values()]
        self._con.register("new_quarantine", pa.table({
            "quarantine_id": list(latest), "run_id": [run_id] * len(latest),
            "source_id": [item.source_id for item in items], "article_id": [item.article_id for item in items],
            "item": [json.dumps(item_to_json(item), ensure_ascii=False, default=str) for item in items],
            "reasons": [json.dumps(reasons) for _, reasons in latest.values()],
            "created_at": utc_timestamps([now] * len(latest))}))
        try:
            self._con.execute(
                """
                MERGE INTO quarantine USING (SELECT quarantine_id, run_id, source_id, article_id,
                    item::JSON AS item, reasons::JSON AS reasons, created_at FROM new_quarantine) AS new
                ON quarantine.quarantine_id = new.quarantine_id
                WHEN MATCHED THEN UPDATE SET run_id = new.run_id, reasons = new.reasons
                WHEN NOT MATCHED THEN INSERT (quarantine_id, run_id, source_id, article_id, item, reasons, created_at)
                    VALUES (new.quarantine_id, new.run_id, new.source_id, new.article_id, new.item, new.reasons,
                            new.created_at)
                """)
        finally:
            self._con.unregister("new_quarantine")

    def release(self, article_ids: list[str], now: datetime) -> int:
        """Mark open rows as released once their article has loaded (after a fix)."""
        if not article_ids:
            return 0
        # a semi-join on a registered table: a list parameter was compared with every open row, element by element
        self._con.register("loaded_ids", pa.table({"article_id": article_ids}))
        try:
            where = "WHERE status = 'open' AND article_id IN (SELECT article_id FROM loaded_ids)"
            # counted, then updated (in the caller's transaction): DuckLake has no UPDATE ... RETURNING
            released = int(self._con.execute(f"SELECT count(*) FROM quarantine {where}").fetchall()[0][0])
            if released:
                self._con.execute(f"UPDATE quarantine SET status = 'released', released_at = ? {where}", [now])
        finally:
            self._con.unregister("loaded_ids")
        return released

    def record_validation(self, run_id: str, ran_at: datetime, success: bool, rows_checked: int, rows_failed: int,
                          results: list[dict[str, Any]]) -> None:
        """One validation batch of a run: success, rows, per-expectation counts and a few examples."""
        self._con.execute(
            "INSERT INTO validation_runs SELECT ?, (SELECT count(*) FROM validation_runs WHERE run_id = ?), "
            "?, ?, ?, ?, ?", [run_id, run_id, ran_at, success, rows_checked, rows_failed, json.dumps(results)])

    def rows(self, status: str | None = "open", limit: int = 1000) -> list[dict[str, Any]]:
        rows = self._con.execute(
            "SELECT quarantine_id, run_id, source_id, article_id, reasons, created_at, status, "
            "json_extract_string(item, '$.title') AS title FROM quarantine "
            "WHERE ? IS NULL OR status = ? ORDER BY created_at DESC, quarantine_id LIMIT ?",
            [status, status, limit]).fetchall()
        return [{"id": r[0], "run_id": r[1], "source_id": r[2], "article_id": r[3], "reasons": json.loads(r[4]),
                 "created_at": r[5].isoformat(), "status": r[6], "title": r[7]} for r in rows]

    def get(self, quarantine_id: str) -> dict[str, Any] | None:
        rows = self._con.execute("SELECT quarantine_id, run_id, source_id, reasons, created_at, status, item "
                                 "FROM quarantine WHERE quarantine_id = ?", [quarantine_id]).fetchall()
        if not rows:
            return None
        r = rows[0]
        return {"id": r[0], "run_id": r[1], "source_id": r[2], "reasons": json.loads(r[3]),
                "created_at": r[4].isoformat(), "status": r[5], "item": json.loads(r[6])}

    def open_items(self, ids: list[str] | None = None) -> list[Item]:
        rows = self._con.execute(
            "SELECT item FROM quarantine WHERE status = 'open' AND (? IS NULL OR list_contains(?, quarantine_id)) "
            "ORDER BY created_at, quarantine_id", [ids, ids]).fetchall()
        return [item_from_json(json.loads(r[0])) for r in rows]

    def opened_on(self, day: date, as_of: datetime, limit: int = 50) -> list[dict[str, Any]]:
        """Rows created on ``day`` (UTC) and still open at ``as_of``, with the expectations they failed."""
        rows = self._con.execute(
            "SELECT quarantine_id, source_id, reasons FROM quarantine WHERE created_at <= ? "
            "AND (released_at IS NULL OR released_at > ?) "
            "AND CAST(created_at AT TIME ZONE 'UTC' AS DATE) = ? ORDER BY created_at, quarantine_id LIMIT ?",
            [as_of, as_of, day, limit]).fetchall()
        return [{"id": r[0], "source_id": r[1],
                 "reasons": sorted({x["expectation"] for x in json.loads(r[2])})} for r in rows]

    def caught_on(self, day: date, as_of: datetime) -> list[dict[str, Any]]:
        """Per expectation, how many rows the day's validation runs (up to ``as_of``) caught (only those that
        caught any)."""
        rows = self._con.execute(
            """
            SELECT r.value ->> 'expectation' AS expectation, r.value ->> 'severity' AS severity,
                   sum(CAST(r.value ->> 'unexpected_count' AS BIGINT)) AS caught
            FROM validation_runs v, json_each(v.results) r
            WHERE CAST(v.ran_at AT TIME ZONE 'UTC' AS DATE) = ? AND v.ran_at <= ?
            GROUP BY ALL HAVING caught > 0 ORDER BY caught DESC, expectation
            """, [day, as_of]).fetchall()
        return [{"expectation": r[0], "severity": r[1], "rows": int(r[2])} for r in rows]
