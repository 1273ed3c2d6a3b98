"""
### newswatch_maintenance

Weekly upkeep (Sunday 03:00 UTC): landing-zone retention (bodies older than NEWSWATCH_LANDING_RETENTION_DAYS,
always keeping each feed's newest), warehouse compaction (story signatures outside the matching window are
pruned, then DuckDB CHECKPOINT), and a feed-health report listing failing, silent and retired feeds.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import dag, task
from newswatch_defaults import COMMON_DAG_ARGS, default_args


@dag(
    dag_id="newswatch_maintenance",
    schedule="0 3 * * 0",
    **COMMON_DAG_ARGS,
    tags=["newswatch", "maintenance"],
    default_args=default_args(),
    doc_md=__doc__,
)
def newswatch_maintenance() -> None:
    @task
    def prune_landing() -> dict[str, int]:
        """Delete landed feed bodies past the retention period; never a feed's newest body."""
        from pipeline.maintenance import prune_landing as prune
        from pipeline.settings import get_settings

        settings = get_settings()
        result = prune(settings.landing_dir, settings.landing_retention_days)
        print(f"landing retention: {result}")
        return result

    @task(pool="warehouse")
    def compact_warehouse() -> dict[str, Any]:
        """Prune expired story signatures and CHECKPOINT the DuckDB file."""
        from pipeline.maintenance import compact_warehouse as compact
        from pipeline.settings import get_settings

        result = compact(get_settings())
        print(f"compaction: {result}")
        return result

    @task(pool="warehouse")
    def feed_health_report() -> dict[str, Any]:
        """Feeds by state and the ones needing attention (failing, silent, retired) with their last error."""
        from pipeline.maintenance import feed_health_report as report
        from pipeline.settings import get_settings

        result = report(get_settings())
        print(f"feeds by state: {result['by_state']}")
        for feed in result["attention"]:
            print(f"  {feed['state']:8} {feed['name']}: {feed['last_error']}")
        return result

    prune_landing() >> compact_warehouse() >> feed_health_report()


newswatch_maintenance()
