"""Shared DAG defaults: owner, retries, and failure alerts by email when NEWSWATCH_ALERT_TO is set.

Only the environment is read here (never the metadata DB or a connection), so parsing stays cheap."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import Asset

# Updated by newswatch_ingest's `process`; consumed by newswatch_today (today's digest page kept current).
ARTICLES = Asset("newswatch/articles")

# Shared by every newswatch DAG: no catchup, one run at a time, unpaused when first parsed.
COMMON_DAG_ARGS: dict[str, Any] = {
    "start_date": datetime(2026, 1, 1, tzinfo=UTC),
    "catchup": False,
    "max_active_runs": 1,
    "is_paused_upon_creation": False,
}
ALERT_SUBJECT = "newswatch: {{ ti.dag_id }}.{{ ti.task_id }} failed ({{ ti.run_id }})"
ALERT_BODY = (
    "<p>Task <b>{{ ti.task_id }}</b> of <b>{{ ti.dag_id }}</b> failed on try {{ ti.try_number }}.</p>"
    "<p>Run: {{ ti.run_id }}</p><p>Log: {{ ti.log_url }}</p>"
)


def default_args(retries: int = 2, retry_delay: timedelta = timedelta(minutes=1),
                 execution_timeout: timedelta = timedelta(hours=2)) -> dict[str, Any]:
    """Every task gets an execution timeout: a stuck task fails (and alerts) instead of holding its pool."""
    args: dict[str, Any] = {"owner": "newswatch", "retries": retries, "retry_delay": retry_delay,
                            "execution_timeout": execution_timeout}
    recipients = [a.strip() for a in os.environ.get("NEWSWATCH_ALERT_TO", "").split(",") if a.strip()]
    if recipients:
        from airflow.providers.smtp.notifications.smtp import SmtpNotifier

        args["on_failure_callback"] = [SmtpNotifier(
            to=recipients, subject=ALERT_SUBJECT, html_content=ALERT_BODY,
            smtp_conn_id=os.environ.get("NEWSWATCH_SMTP_CONN_ID", "smtp_default"))]
    return args
