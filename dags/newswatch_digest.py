"""
### newswatch_digest

Builds the daily digest for the run's logical date (UTC day): top stories by relevance, a section per
topic, new vs developing stories, spikes, a 14-day chart and a data-quality section. Archives it as
`YYYY-MM-DD.{html,txt,md,png}`, records it in the `digests` table, then emails it once through the
Airflow SMTP connection. Runs at 06:00 UTC for the day that just ended, and the run's data interval is
that day (00:00 to 24:00 UTC, `DigestDayTimetable` in `plugins/`); trigger it with a logical date (or
backfill) to build any other day's digest.
"""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pendulum
from airflow.sdk import dag, get_current_context, task
from newswatch_defaults import COMMON_DAG_ARGS, default_args
from newswatch_timetables import DigestDayTimetable


class SmtpHookMailer:
    """The digest's Mailer through the Airflow SMTP connection: the provider's hook opens, secures and logs in
    (TLS/SSL, credentials, timeouts as the connection says); the composed multipart message is sent over it."""

    def __init__(self, conn_id: str) -> None:
        self.conn_id = conn_id

    @property
    def from_email(self) -> str | None:
        """The connection's ``from_email`` extra (the sender the SMTP provider uses)."""
        from airflow.sdk import Connection

        return Connection.get(self.conn_id).extra_dejson.get("from_email")

    def send(self, message: EmailMessage) -> dict[str, str]:
        from airflow.providers.smtp.hooks.smtp import SmtpHook

        from pipeline.digest.mail import refused_recipients

        with SmtpHook(smtp_conn_id=self.conn_id) as hook:
            # send_email_smtp would rebuild the message as HTML only and hide refused recipients; the hook's
            # connected client (as its own test_connection uses it) sends ours and reports them
            return refused_recipients(hook.get_conn()._smtp_client.send_message(message))


@dag(
    dag_id="newswatch_digest",
    schedule=DigestDayTimetable(hour=6),
    **COMMON_DAG_ARGS,
    tags=["newswatch", "digest"],
    default_args=default_args(retry_delay=timedelta(minutes=2)),
    doc_md=__doc__,
)
def newswatch_digest() -> None:
    @task(pool="warehouse")
    def build_digest() -> str:
        """Build, render and archive the digest for the run's day (its data interval); returns YYYY-MM-DD."""
        from pipeline.digest.archive import make_digest
        from pipeline.settings import get_settings

        context = get_current_context()
        when = context.get("data_interval_start") or context.get("logical_date") or context["dag_run"].run_after
        archived = make_digest(get_settings(), pendulum.instance(when).in_timezone("UTC").date())
        print(f"digest {archived.day}: {archived.relevant_stories} relevant stories -> {archived.html_path}")
        return archived.day.isoformat()

    @task(pool="warehouse", retries=3, retry_delay=timedelta(minutes=5))
    def send_digest(day: str) -> dict[str, Any]:
        """Email the archived digest through the Airflow SMTP connection (`smtp_default` unless
        NEWSWATCH_SMTP_CONN_ID says otherwise) to NEWSWATCH_DIGEST_TO, exactly once per day and recipient:
        a retry after a failure sends, a re-run after a success does nothing. Skipped when no recipients are set."""
        from airflow.sdk.exceptions import AirflowSkipException

        from pipeline.digest.mail import archived_digest, send_digest
        from pipeline.settings import get_settings

        settings = get_settings()
        if not settings.digest_recipients:
            raise AirflowSkipException("NEWSWATCH_DIGEST_TO is empty: nothing to send")
        mailer = SmtpHookMailer(settings.smtp_conn_id)
        when = pendulum.parse(day).date()
        result = send_digest(settings, when, mailer, sender=mailer.from_email or settings.mail_from,
                             recipients=settings.digest_recipients, archived=archived_digest(settings, when))
        print(f"digest {when} to {result.recipients}: {result.status}")
        return result.to_dict()

    send_digest(build_digest())


newswatch_digest()
