"""
### newswatch_ingest

Polls the feeds that are due (one mapped task per feed, each landing the raw body and returning a small
reference), then processes what landed together with the seed documents: normalise -> validate -> dedup ->
classify -> load, and updates the Asset `newswatch/articles`. On the DuckDB file that is one `process` task in
the `warehouse` pool (one slot: DuckDB has one writer); on a DuckLake warehouse the polls are split into
batches (NEWSWATCH_PROCESS_BATCHES) processed side by side, as many at once as the `warehouse` pool's slots.

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
PROCESS_DOC = ("Parse one batch of landed bodies (and the seeds, in the first batch); validate (Great Expectations), "
               "dedup, classify and load them, one transaction per chunk. items_seen = loaded + updated + "
               "duplicates + quarantined. Fails, without retrying, when a source's batch broke the validation "
               "error-rate gate (after loading everything else).")
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

    @task(trigger_rule="all_done")
    def plan_batches(outcomes: list[PollOutcome] | None = None) -> list[dict[str, object]]:
        """Split what the polls brought into the batches `process` runs (one on the DuckDB file; on a lake, by
        feed, the seeds in the first)."""
        from pipeline.ingest import plan_batches as split
        from pipeline.settings import get_settings

        batches = split(get_settings(), list(outcomes or []))
        print(f"{len(batches)} batches of {[len(b['outcomes']) for b in batches]} polls")  # type: ignore[arg-type]
        return batches

    @task(pool="warehouse", outlets=[ARTICLES], map_index_template="batch {{ ti.map_index }}", doc_md=PROCESS_DOC)
    def process(outcomes: list[PollOutcome], include_seeds: bool = True) -> IngestSummary:
        """Parse landed bodies and the seeds; validate (Great Expectations), dedup, classify and load them,
        one transaction per chunk. Logs the run's counts: items_seen = loaded + updated + duplicates +
        quarantined. When a source's batch broke the validation error-rate gate it fails after loading
        everything else, without retrying (a retry would find the bodies processed and turn green)."""
        from airflow.sdk.exceptions import AirflowFailException

        from pipeline.ingest import process as process_batch
        from pipeline.settings import get_settings

        summary = process_batch(get_settings(), list(outcomes), include_seeds=include_seeds)
        print(f"run {summary.run_id}: seen={summary.items_seen} loaded={summary.loaded} updated={summary.updated} "
              f"duplicates={summary.duplicates} quarantined={summary.quarantined} relevant={summary.relevant} "
              f"feeds_ok={summary.feeds_ok} feeds_failed={summary.feeds_failed}")
        print(summary.validation)
        if summary.gate_failures:
            raise AirflowFailException(f"validation gate: batches quarantined whole: {summary.gate_failures}")
        return summary

    process.expand_kwargs(plan_batches(poll_feed.expand(feed=plan_feeds())))


newswatch_ingest()
