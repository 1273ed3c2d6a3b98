"""Full-text search over the warehouse's articles (``newswatch search``), on DuckDB's fts extension."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pipeline.settings import Settings
from pipeline.store import open_warehouse


def search_articles(settings: Settings, text: str, *, limit: int = 20, days: int | None = None) -> list[dict[str, Any]]:
    """The best-matching articles for ``text`` (BM25 over title, summary and body). The index is rebuilt first
    when articles changed since it was built, which needs the writer lock briefly (an interactive command
    waits for it as a reader would: NEWSWATCH_DB_READ_TIMEOUT_S)."""
    now = datetime.now(UTC)
    since = now - timedelta(days=days) if days else None
    if settings.lake is not None:
        with open_warehouse(settings, create=False) as wh:
            return wh.articles.search_snapshot(text, limit, since)
    with open_warehouse(settings, write=True, create=False, holder="search index",
                        timeout_s=settings.db_read_timeout_s) as wh:
        if not wh.articles.search_index_fresh():
            with wh.transaction():
                wh.articles.rebuild_search_index(now)
        return wh.articles.search(text, limit, since)
