"""Runs (ingest, replay, quarantine replay, rescore) and the landed bodies each one processed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa

from pipeline.store.connection import Connection

COUNTERS = ("items_seen", "loaded", "updated", "duplicates", "quarantined", "feeds_ok", "feeds_failed")


@dataclass(frozen=True, slots=True)
class RunRow:
    run_id: str
    kind: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    counters: dict[str, int]


STALE_RUN = timedelta(hours=12)  # on a lake, a run still "running" after this long died with its process


class RunStore:
    def __init__(self, con: Connection, single_writer: bool = True) -> None:
        self._con = con
        self._single_writer = single_writer

    def start(self, run_id: str, kind: str, now: datetime) -> list[str]:
        """Open a run. On the DuckDB file, runs still marked running belong to processes that died: whoever opens
        a run holds the writer lock, so no other writer is alive. On a lake writers run side by side, so only a
        run silent for STALE_RUN is taken as dead. Dead runs are marked abandoned (their whole chunks stay
        loaded; this run redoes the rest). Returns the abandoned run ids."""
        started_before = now if self._single_writer else now - STALE_RUN
        abandoned = [r[0] for r in self._con.execute(
            "SELECT run_id FROM runs WHERE status = 'running' AND run_id <> ? AND started_at <= ?",
            [run_id, started_before]).fetchall()]
        if abandoned:
            self._con.execute(
                "UPDATE runs SET status = 'abandoned', finished_at = ?, "
                "details = json_object('abandoned_by', ?::VARCHAR) WHERE list_contains(?, run_id)",
                [now, run_id, abandoned])
        self._con.execute("MERGE INTO runs USING (SELECT ? AS run_id) AS new ON runs.run_id = new.run_id "
                          "WHEN NOT MATCHED THEN INSERT (run_id, kind, started_at, status) "
                          "VALUES (new.run_id, ?, ?, 'running')", [run_id, kind, now])
        return sorted(abandoned)

    def save_progress(self, run_id: str, counters: dict[str, int], details: dict[str, Any]) -> None:
        """The run's counters so far (written in each chunk's transaction, so they match what is loaded)."""
        self._update(run_id, "running", None, counters, details)

    def finish(self, run_id: str, counters: dict[str, int], details: dict[str, Any], now: datetime) -> None:
        self._update(run_id, "success", now, counters, details)

    def fail(self, run_id: str, error: str, counters: dict[str, int], details: dict[str, Any],
             now: datetime) -> None:
        self._update(run_id, "failed", now, counters, {**details, "error": error})

    def fail_at_last_commit(self, run_id: str, error: str, now: datetime) -> None:
        """Mark a run failed, keeping the counters and details its last committed chunk saved: the failed
        chunk was rolled back, so counting it would count items a retry loads again."""
        self._con.execute(
            "UPDATE runs SET status = 'failed', finished_at = ?, "
            "details = json_merge_patch(coalesce(details, '{}'), json_object('error', ?::VARCHAR)) WHERE run_id = ?",
            [now, error, run_id])

    def _update(self, run_id: str, status: str, finished_at: datetime | None, counters: dict[str, int],
                details: dict[str, Any]) -> None:
        values = [int(counters.get(name, 0)) for name in COUNTERS]
        self._con.execute(
            f"UPDATE runs SET status = ?, finished_at = ?, {', '.join(f'{c} = ?' for c in COUNTERS)}, details = ? "
            "WHERE run_id = ?",
            [status, finished_at, *values, json.dumps(details, ensure_ascii=False, default=str), run_id])

    def latest(self, kinds: tuple[str, ...]) -> RunRow | None:
        rows = self._select("WHERE list_contains(?, kind) ORDER BY started_at DESC LIMIT 1", [list(kinds)])
        return rows[0] if rows else None

    def _select(self, where: str, params: list[object]) -> list[RunRow]:
        rows = self._con.execute(
            f"SELECT run_id, kind, status, started_at, finished_at, {', '.join(COUNTERS)} FROM runs {where}",
            params).fetchall()
        return [RunRow(r[0], r[1], r[2], r[3], r[4], dict(zip(COUNTERS, r[5:], strict=True))) for r in rows]

    # landed bodies ------------------------------------------------------------------------------------------

    def processed_bodies(self, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which of the (source_id, body_hash) pairs are already in the warehouse."""
        if not keys:
            return set()
        self._con.register("landed_keys", pa.table({"source_id": [k[0] for k in keys],
                                                    "body_hash": [k[1] for k in keys]}))
        try:
            rows = self._con.execute("SELECT p.source_id, p.body_hash FROM processed_bodies p "
                                     "JOIN landed_keys USING (source_id, body_hash)").fetchall()
        finally:
            self._con.unregister("landed_keys")
        return {(r[0], r[1]) for r in rows}

    def mark_processed(self, bodies: list[tuple[str, str, int]], run_id: str, now: datetime) -> None:
        """Record (source_id, body_hash, items) as processed by ``run_id``."""
        if not bodies:
            return
        self._con.register("done_bodies", pa.table({
            "source_id": [b[0] for b in bodies], "body_hash": [b[1] for b in bodies],
            "items": pa.array([b[2] for b in bodies], pa.int32())}))
        try:
            self._con.execute(
                "MERGE INTO processed_bodies USING (SELECT DISTINCT ON (source_id, body_hash) * FROM done_bodies) "
                "AS new ON processed_bodies.source_id = new.source_id AND processed_bodies.body_hash = new.body_hash "
                "WHEN MATCHED THEN UPDATE SET processed_at = ?, run_id = ?, items = new.items "
                "WHEN NOT MATCHED THEN INSERT (source_id, body_hash, processed_at, run_id, items) "
                "VALUES (new.source_id, new.body_hash, ?, ?, new.items)", [now, run_id, now, run_id])
        finally:
            self._con.unregister("done_bodies")
