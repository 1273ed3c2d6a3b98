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

from airflow.sdk import dag, task
from airflow.sdk.serde import allow_class
from newswatch_defaults import ARTICLES, COMMON_DAG_ARGS, default_args

from pipeline.feeds.outcome import PollOutcome  # a dataclass of primitives: light to import
from pipeline.models import IngestSummary

# Mapped tasks do not inherit their docstring as docs, so the text is passed explicitly.
POLL_FEED_DOC = ("Fetch one feed (conditional GET, size cap, deadline) and land its body. A feed that fails ends "
                 "red (no retry: it is polled again on its schedule); its outcome still reaches `process`.")
for typed_value in (PollOutcome, IngestSummary):  # what travels through XCom, deserialised by the next task
    allow_class(typed_value)


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
    def plan_feeds() -> list[str]:
        """Register the feed list in the warehouse and return the names of the feeds whose next poll time has
        come (names only: URLs may carry credentials and XCom is visible in the UI)."""
        from pipeline.ingest import due_feed_names
        from pipeline.settings import get_settings

        names = due_feed_names(get_settings())
        print(f"{len(names)} feeds due")
        return names

    # a fetch has its own wall-clock deadline (NEWSWATCH_FETCH_DEADLINE_S, at most an hour); this is the backstop.
    # No retries: a failed feed is polled again on its own schedule (with backoff), not three times in a row.
    @task(pool="feeds", map_index_template="{{ task.op_kwargs['feed'] }}", doc_md=POLL_FEED_DOC, retries=0,
          execution_timeout=timedelta(minutes=65))
    def poll_feed(feed: str) -> PollOutcome:
        from airflow.sdk import get_current_context
        from airflow.sdk.exceptions import AirflowFailException

        from pipeline.ingest import poll_one
        from pipeline.settings import get_settings

        outcome = poll_one(get_settings(), feed)
        print(f"{feed}: {outcome.outcome} status={outcome.status} error={outcome.error}")
        if outcome.error and outcome.outcome != "retired":
            # a red square for a feed that failed; its outcome still reaches `process`, which records it
            get_current_context()["ti"].xcom_push(key="return_value", value=outcome)
            raise AirflowFailException(f"feed {feed!r} failed: {outcome.error}")
        return outcome

    @task(pool="warehouse", outlets=[ARTICLES], trigger_rule="all_done")
    def process(outcomes: list[PollOutcome] | None = None) -> IngestSummary:
        """Parse landed bodies and the seeds; validate (Great Expectations), dedup, classify and load them,
        one transaction per chunk. Logs the run's counts: items_seen = loaded + updated + duplicates +
        quarantined. When a source's batch broke the validation error-rate gate it fails after loading
        everything else, without retrying (a retry would find the bodies processed and turn green)."""
        from airflow.sdk.exceptions import AirflowFailException

        from pipeline.ingest import process as process_batch
        from pipeline.settings import get_settings

        summary = process_batch(get_settings(), list(outcomes or []))
        print(f"run {summary.run_id}: seen={summary.items_seen} loaded={summary.loaded} updated={summary.updated} "
              f"duplicates={summary.duplicates} quarantined={summary.quarantined} relevant={summary.relevant} "
              f"feeds_ok={summary.feeds_ok} feeds_failed={summary.feeds_failed}")
        print(summary.validation)
        if summary.gate_failures:
            raise AirflowFailException(f"validation gate: batches quarantined whole: {summary.gate_failures}")
        return summary

    process(poll_feed.expand(feed=plan_feeds()))


newswatch_ingest()
