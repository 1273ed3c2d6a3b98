"""A compact picture of the warehouse for operators (``newswatch status``, ``make run``)."""

from __future__ import annotations

from typing import Any

from pipeline.settings import Settings
from pipeline.warehouse import connect


def warehouse_status(settings: Settings) -> dict[str, Any]:
    with connect(settings.db, read_only=True, lock_timeout_s=settings.db_lock_timeout_s) as con:
        articles, relevant, core = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE relevance_label >= 1), "
            "count(*) FILTER (WHERE relevance_label = 2) FROM articles").fetchall()[0]
        stories = con.execute("SELECT count(*) FROM stories").fetchall()[0][0]
        last = con.execute(
            "SELECT run_id, status, items_seen, loaded, updated, duplicates, quarantined, feeds_ok, feeds_failed "
            "FROM runs WHERE kind IN ('ingest', 'replay') ORDER BY started_at DESC LIMIT 1").fetchall()
        digest = con.execute("SELECT digest_date, html_path FROM digests ORDER BY digest_date DESC LIMIT 1").fetchall()
    keys = ("run_id", "status", "items_seen", "loaded", "updated", "duplicates", "quarantined", "feeds_ok",
            "feeds_failed")
    return {
        "db": str(settings.db), "articles": articles, "relevant": relevant, "core": core, "stories": stories,
        "last_run": dict(zip(keys, last[0], strict=True)) if last else None,
        "latest_digest": str(digest[0][1]) if digest else None,
    }
