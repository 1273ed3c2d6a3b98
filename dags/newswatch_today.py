"""
### newswatch_today

Keeps today's digest page current: runs whenever `newswatch_ingest` has updated the Asset
`newswatch/articles`, and rebuilds the archive of today's digest (`YYYY-MM-DD.{html,txt,md,png}` in
NEWSWATCH_DIGEST_DIR) from the warehouse as it now is. It never sends mail: the morning `newswatch_digest`
builds and sends the finished day.
"""

from __future__ import annotations

from airflow.sdk import dag, task
from newswatch_defaults import ARTICLES, COMMON_DAG_ARGS, default_args


@dag(
    dag_id="newswatch_today",
    schedule=[ARTICLES],
    **COMMON_DAG_ARGS,
    tags=["newswatch", "digest"],
    default_args=default_args(),
    doc_md=__doc__,
)
def newswatch_today() -> None:
    @task(pool="warehouse")
    def refresh_todays_digest() -> str:
        """Rebuild today's digest archive (UTC day) from the warehouse; returns its day. Sends nothing."""
        from datetime import UTC, datetime

        from pipeline.digest.archive import make_digest
        from pipeline.settings import get_settings

        archived = make_digest(get_settings(), datetime.now(UTC).date())
        print(f"digest {archived.day} (so far): {archived.relevant_stories} relevant stories -> {archived.html_path}")
        return archived.day.isoformat()

    refresh_todays_digest()


newswatch_today()
