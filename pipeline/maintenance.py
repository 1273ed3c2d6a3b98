"""Weekly upkeep: landing retention, warehouse compaction, story-signature pruning, a feed-health report."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pipeline.feeds.health import feed_health, needs_attention
from pipeline.settings import Settings
from pipeline.store import open_warehouse
from pipeline.stories import WINDOW


def prune_landing(landing_dir: Path, retention_days: int, now: datetime | None = None) -> dict[str, int]:
    """Delete landed bodies older than the retention, always keeping each feed's newest body."""
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(days=retention_days)
    removed = freed = kept = 0
    for folder in sorted(p for p in Path(landing_dir).glob("*") if p.is_dir()):
        metas = []
        for meta_path in folder.glob("*.meta.json"):
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            metas.append((datetime.fromisoformat(meta["fetched_at"]), meta_path, Path(meta["path"])))
        metas.sort()
        for fetched_at, meta_path, body_path in metas[:-1]:
            if fetched_at < cutoff:
                freed += body_path.stat().st_size if body_path.exists() else 0
                body_path.unlink(missing_ok=True)
                meta_path.unlink(missing_ok=True)
                removed += 1
            else:
                kept += 1
        kept += 1 if metas else 0
    return {"bodies_removed": removed, "bytes_freed": freed, "bodies_kept": kept}


def compact_warehouse(settings: Settings, now: datetime | None = None) -> dict[str, Any]:
    """Prune story signatures outside the matching window and CHECKPOINT the warehouse (on the DuckDB file:
    write the WAL into it; on a lake: merge small data files, expire old snapshots and delete their files)."""
    now = now or datetime.now(UTC)
    on_file = settings.lake is None
    size_before = settings.db.stat().st_size if on_file and settings.db.exists() else None
    with open_warehouse(settings, write=True, create=False, holder="compaction") as wh:
        with wh.transaction():
            pruned = wh.stories.prune_signatures(now - 2 * WINDOW)
        wh.checkpoint()
    return {"signatures_pruned": pruned, "db_bytes_before": size_before,
            "db_bytes_after": settings.db.stat().st_size if on_file else None}


def feed_health_report(settings: Settings) -> dict[str, Any]:
    """Feeds by state, and the ones that need a person: failing, silent or retired, with their last error."""
    with open_warehouse(settings) as wh:
        feeds = feed_health(wh)
    attention = [{"name": f["name"], "state": f["state"], "error_streak": f["error_streak"],
                  "last_error": f["last_error"], "last_success_at": f["last_success_at"]}
                 for f in feeds if needs_attention(f)]
    return {"feeds": len(feeds), "by_state": dict(Counter(f["state"] for f in feeds)), "attention": attention}
