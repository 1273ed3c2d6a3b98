"""
### newswatch_ingest

Polls the feeds that are due (one mapped task per feed, each landing the raw body and returning a small
reference), then processes what landed together with the seed documents in a single warehouse step:
normalise -> validate -> dedup -> classify -> load. That step runs in the `warehouse` pool (one slot: DuckDB
has one writer) and updates the Asset `newswatch/articles`.

Every task calls one function of the `pipeline` package; nothing heavy is imported at parse time.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import Asset, dag, task
from newswatch_defaults import COMMON_DAG_ARGS, default_args

ARTICLES = Asset("newswatch/articles")
# Mapped tasks do not inherit their docstring as docs, so the text is passed explicitly.
POLL_FEED_DOC = "Fetch one feed (conditional GET, size cap, timeouts) and land its body; never raises for a bad feed."


@dag(
    dag_id="newswatch_ingest",
    schedule="*/30 * * * *",
    **COMMON_DAG_ARGS,
    tags=["newswatch", "ingest"],
    default_args=default_args(retry_delay=timedelta(minutes=1)),
    doc_md=__doc__,
)
def newswatch_ingest() -> None:
    @task(pool="warehouse")
    def plan_feeds() -> list[dict[str, Any]]:
        """Register the feed list in the warehouse and return the feeds whose next poll time has come."""
        from pipeline.ingest import due_feed_specs
        from pipeline.settings import get_settings

        specs = due_feed_specs(get_settings())
        print(f"{len(specs)} feeds due")
        return specs

    @task(pool="feeds", map_index_template="{{ task.op_kwargs['spec']['name'] }}", doc_md=POLL_FEED_DOC)
    def poll_feed(spec: dict[str, Any]) -> dict[str, Any]:
        from pipeline.ingest import poll_one
        from pipeline.settings import get_settings

        outcome = poll_one(get_settings(), spec)
        print(f"{spec['name']}: {outcome['outcome']} status={outcome['status']} error={outcome['error']}")
        return outcome

    @task(pool="warehouse", outlets=[ARTICLES], trigger_rule="none_failed")
    def process(outcomes: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """Parse landed bodies and the seeds; validate (Great Expectations), dedup, classify and load them.
        Logs the run's counts: items_seen = loaded + updated + duplicates + quarantined. Fails after loading
        everything else when a source's batch broke the validation error-rate gate."""
        from pipeline.ingest import process as process_batch
        from pipeline.settings import get_settings

        summary = process_batch(get_settings(), list(outcomes or []))
        print(f"run {summary.run_id}: seen={summary.items_seen} loaded={summary.loaded} updated={summary.updated} "
              f"duplicates={summary.duplicates} quarantined={summary.quarantined} relevant={summary.relevant} "
              f"feeds_ok={summary.feeds_ok} feeds_failed={summary.feeds_failed}")
        print(summary.validation)
        if summary.gate_failures:  # everything else is loaded; this makes the bad batch visible in the UI
            raise ValueError(f"validation gate: batches quarantined whole: {summary.gate_failures}")
        return summary.to_dict()

    process(poll_feed.expand(spec=plan_feeds()))


newswatch_ingest()
