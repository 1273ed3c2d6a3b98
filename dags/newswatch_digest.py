"""
### newswatch_digest

Builds the daily digest for the run's logical date (UTC day): top stories by relevance, a section per
topic, new vs developing stories, spikes, a 14-day chart and a data-quality section. Archives it as
`YYYY-MM-DD.{html,txt,md,png}` and records it in the `digests` table. Scheduled at 06:00 UTC for the day
that just ended; trigger it with a logical date (or backfill) to build any other day's digest.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import CronDataIntervalTimetable, dag, get_current_context, task


@dag(
    dag_id="newswatch_digest",
    schedule=CronDataIntervalTimetable("0 6 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    is_paused_upon_creation=False,
    tags=["newswatch", "digest"],
    default_args={"retries": 2, "retry_delay": timedelta(minutes=2), "owner": "newswatch"},
    doc_md=__doc__,
)
def newswatch_digest() -> None:
    @task(pool="warehouse")
    def build_digest() -> dict[str, Any]:
        """Build, render and archive the digest for the logical date; returns its paths and counts."""
        from pipeline.digest.archive import make_digest
        from pipeline.settings import get_settings

        context = get_current_context()
        when = context.get("logical_date") or context["dag_run"].run_after
        archived = make_digest(get_settings(), pendulum.instance(when).in_timezone("UTC").date())
        print(f"digest {archived.day}: {archived.relevant_stories} relevant stories -> {archived.html_path}")
        return archived.to_dict()

    build_digest()


newswatch_digest()
