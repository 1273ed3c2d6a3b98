"""
### newswatch_digest

Builds the daily digest for the run's logical date (UTC day): top stories by relevance, a section per
topic, new vs developing stories, spikes, a 14-day chart and a data-quality section. Archives it as
`YYYY-MM-DD.{html,txt,md,png}`, records it in the `digests` table, then emails it once through the
Airflow SMTP connection. Scheduled at 06:00 UTC for the day
that just ended; trigger it with a logical date (or backfill) to build any other day's digest.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import CronDataIntervalTimetable, dag, get_current_context, task
from newswatch_defaults import COMMON_DAG_ARGS, default_args


@dag(
    dag_id="newswatch_digest",
    schedule=CronDataIntervalTimetable("0 6 * * *", timezone="UTC"),
    **COMMON_DAG_ARGS,
    tags=["newswatch", "digest"],
    default_args=default_args(retry_delay=timedelta(minutes=2)),
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

    @task(pool="warehouse", retries=3, retry_delay=timedelta(minutes=5))
    def send_digest(archived: dict[str, Any]) -> dict[str, Any]:
        """Email the archived digest through the Airflow SMTP connection (`smtp_default` unless
        NEWSWATCH_SMTP_CONN_ID says otherwise) to NEWSWATCH_DIGEST_TO, exactly once per day and recipient:
        a retry after a failure sends, a re-run after a success does nothing. Skipped when no recipients are set."""
        from airflow.providers.smtp.hooks.smtp import SmtpHook
        from airflow.sdk.exceptions import AirflowSkipException

        from pipeline.digest.mail import SmtpSettings, archived_digest, send_digest
        from pipeline.settings import get_settings

        settings = get_settings()
        if not settings.digest_recipients:
            raise AirflowSkipException("NEWSWATCH_DIGEST_TO is empty: nothing to send")
        hook = SmtpHook(smtp_conn_id=settings.smtp_conn_id)
        hook.smtp_connection = hook.get_connection(settings.smtp_conn_id)
        smtp = SmtpSettings(host=hook.host, port=hook.port or 25, user=hook.smtp_user or None,
                            password=hook.smtp_password or None, starttls=hook.smtp_starttls,
                            use_ssl=hook.use_ssl, timeout_s=hook.timeout)
        day = pendulum.parse(archived["day"]).date()
        result = send_digest(settings, day, smtp, sender=hook.from_email or settings.mail_from,
                             recipients=settings.digest_recipients, archived=archived_digest(settings, day))
        print(f"digest {day} to {result.recipients}: {result.status}")
        return result.to_dict()

    send_digest(build_digest())


newswatch_digest()
