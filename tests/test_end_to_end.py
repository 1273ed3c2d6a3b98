"""The whole system through Airflow itself: ``airflow dags test`` of ingest then digest on a temporary
AIRFLOW_HOME (real SQLite metadata DB) and warehouse, with one feed served over loopback HTTP."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from pytest_httpserver import HTTPServer

from tests.conftest import FIXTURES, VENV_BIN
from tests.test_dags import _airflow_env

pytestmark = pytest.mark.airflow


def _run(args: list[str], env: dict[str, str]) -> str:
    result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{args} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result.stdout + result.stderr


def test_ingest_then_digest_through_airflow(tmp_path: Path, httpserver: HTTPServer, smtp_server):
    controller, inbox = smtp_server
    feed = (FIXTURES / "feeds" / "alliance_rss.xml").read_bytes()
    httpserver.expect_request("/alliance.xml").respond_with_data(feed, content_type="application/rss+xml")
    feeds_file = tmp_path / "feeds.toml"
    feeds_file.write_text(f'[[feeds]]\nname = "Alliance Watch"\nurl = "{httpserver.url_for("/alliance.xml")}"\n'
                          'language = "en"\n', encoding="utf-8")
    env = _airflow_env(tmp_path)
    env.update({"NEWSWATCH_DB": str(tmp_path / "wh.duckdb"), "NEWSWATCH_DIGEST_DIR": str(tmp_path / "digests"),
                "NEWSWATCH_LANDING_DIR": str(tmp_path / "landing"), "NEWSWATCH_FEEDS_FILE": str(feeds_file),
                "NO_PROXY": "127.0.0.1,localhost", "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
                "NEWSWATCH_DIGEST_TO": "analyst@example.org",
                "AIRFLOW_CONN_SMTP_DEFAULT": json.dumps({
                    "conn_type": "smtp", "host": "127.0.0.1", "port": controller.port,
                    "extra": {"disable_tls": True, "disable_ssl": True, "from_email": "newswatch@example.org"}})})
    airflow = str(VENV_BIN / "airflow")
    _run([airflow, "db", "migrate"], env)
    ingest_log = _run([airflow, "dags", "test", "newswatch_ingest"], env)
    assert "state=success" in ingest_log
    today = datetime.now(UTC).date().isoformat()
    started = datetime.now(UTC)
    digest_log = _run([airflow, "dags", "test", "newswatch_digest"], env)  # as `make run`: no date, today so far
    assert "state=success" in digest_log
    meta = sqlite3.connect(tmp_path / "airflow" / "airflow.db")
    (start, end, run_start), = meta.execute("SELECT data_interval_start, data_interval_end, start_date FROM dag_run "
                                            "WHERE dag_id = 'newswatch_digest'").fetchall()
    meta.close()
    # the run's data interval is the digest's day, and the run started when it was triggered (not at midnight)
    assert (start[:19], end[:10]) == (f"{today} 00:00:00",
                                      (datetime.fromisoformat(today) + timedelta(days=1)).date().isoformat())
    assert datetime.fromisoformat(run_start).replace(tzinfo=UTC) >= started - timedelta(minutes=1)

    con = duckdb.connect(env["NEWSWATCH_DB"], read_only=True)
    seeds = con.execute("SELECT source_name, published_precision FROM articles WHERE source_kind = 'seed'").fetchall()
    feed_titles = [r[0] for r in con.execute(
        "SELECT title FROM articles WHERE source_kind = 'feed' ORDER BY title").fetchall()]
    runs = con.execute("SELECT items_seen, loaded, feeds_ok, feeds_failed FROM runs WHERE kind = 'ingest'").fetchall()
    con.close()
    assert len(seeds) == 5
    assert len(feed_titles) == 3 and any("Polish airspace" in t for t in feed_titles)
    assert runs == [(8, 8, 1, 0)]

    html = (tmp_path / "digests" / f"{today}.html").read_text(encoding="utf-8")
    text = (tmp_path / "digests" / f"{today}.txt").read_text(encoding="utf-8")
    for seed_file in [s[0] for s in seeds]:
        assert seed_file in text, f"{seed_file} missing from the digest"
    assert "Russian drones violate Polish airspace" in html
    assert "bakery" not in text.lower()  # not relevant, not in the digest
    assert "<script" not in html
    assert os.path.exists(tmp_path / "digests" / f"{today}.png")

    assert len(inbox.messages) == 1  # sent through the Airflow SMTP connection
    message = inbox.messages[0]
    assert message["To"] == "analyst@example.org" and message["From"] == "newswatch@example.org"
    assert message["Subject"].startswith(f"newswatch digest {today}: ")
    assert message.get_content_type() == "multipart/alternative"
    rerun = _run([airflow, "dags", "test", "newswatch_digest", today], env)  # same day again: not sent twice
    assert "state=success" in rerun and len(inbox.messages) == 1


def _migrated_ingest_env(tmp_path: Path, feeds: dict[str, str]) -> tuple[dict[str, str], str]:
    """An Airflow home with a migrated metadata DB, a warehouse and the given feeds (name -> URL)."""
    feeds_file = tmp_path / "feeds.toml"
    feeds_file.write_text("".join(f'[[feeds]]\nname = "{name}"\nurl = "{url}"\n\n' for name, url in feeds.items()),
                          encoding="utf-8")
    env = _airflow_env(tmp_path)
    env.update({"NEWSWATCH_DB": str(tmp_path / "wh.duckdb"), "NEWSWATCH_LANDING_DIR": str(tmp_path / "landing"),
                "NEWSWATCH_FEEDS_FILE": str(feeds_file), "NO_PROXY": "127.0.0.1,localhost",
                "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO"})
    airflow = str(VENV_BIN / "airflow")
    _run([airflow, "db", "migrate"], env)
    return env, airflow


def test_validation_gate_fails_process_once_without_retry(tmp_path: Path, httpserver: HTTPServer):
    """A source whose batch breaks the error-rate gate: everything else loads, and `process` ends failed on its
    first try (AirflowFailException), instead of being retried into a green square."""
    entries = "".join(
        f"<item><title>{'Gate Outlet' if n < 4 else f'NATO item {n} about the alliance'}</title>"
        f"<link>https://test.example/{n}</link><guid>g{n}</guid></item>" for n in range(6))
    httpserver.expect_request("/bad.xml").respond_with_data(
        f'<rss version="2.0"><channel><title>Gate Outlet</title>{entries}</channel></rss>', content_type="text/xml")
    env, airflow = _migrated_ingest_env(tmp_path, {"Gate Outlet": httpserver.url_for("/bad.xml")})
    result = subprocess.run([airflow, "dags", "test", "newswatch_ingest"], env=env, capture_output=True, text=True,
                            timeout=600)
    log = result.stdout + result.stderr
    assert "AirflowFailException" in log and "validation gate" in log

    meta = sqlite3.connect(tmp_path / "airflow" / "airflow.db")
    states = dict(meta.execute("SELECT task_id, state FROM task_instance WHERE map_index = -1").fetchall())
    batches = meta.execute("SELECT map_index, state FROM task_instance WHERE task_id = 'process'").fetchall()
    tries = meta.execute("SELECT try_number, max_tries FROM task_instance WHERE task_id = 'process'").fetchall()
    meta.close()
    assert batches == [(0, "failed")] and states["plan_feeds"] == "success"  # one batch on the DuckDB file
    assert tries[0][0] == 1 and tries[0][1] >= 1, tries  # retries were allowed, and none was made

    con = duckdb.connect(env["NEWSWATCH_DB"], read_only=True)
    loaded = con.execute("SELECT count(*) FROM articles WHERE source_kind = 'seed'").fetchall()[0][0]
    quarantined = con.execute("SELECT count(*) FROM quarantine WHERE source_id = 'feed:Gate Outlet'").fetchall()
    con.close()
    assert loaded == 5 and quarantined == [(6,)]


def test_a_failed_feed_is_a_red_poll_and_the_run_still_succeeds(tmp_path: Path, httpserver: HTTPServer):
    """A feed answering 500 ends as a failed mapped `poll_feed` (no retry); `process` still runs (all_done),
    records the failure in the warehouse, loads the healthy feed, and the DAG run succeeds."""
    httpserver.expect_request("/alliance.xml").respond_with_data(
        (FIXTURES / "feeds" / "alliance_rss.xml").read_bytes(), content_type="application/rss+xml")
    httpserver.expect_request("/broken.xml").respond_with_data("oops", status=500)
    env, airflow = _migrated_ingest_env(tmp_path, {"Alliance Watch": httpserver.url_for("/alliance.xml"),
                                                   "Broken Outlet": httpserver.url_for("/broken.xml")})
    log = _run([airflow, "dags", "test", "newswatch_ingest"], env)
    assert "state=success" in log

    meta = sqlite3.connect(tmp_path / "airflow" / "airflow.db")
    polls = dict(meta.execute("SELECT rendered_map_index, state FROM task_instance "
                              "WHERE task_id = 'poll_feed'").fetchall())
    process = meta.execute("SELECT state FROM task_instance WHERE task_id = 'process'").fetchall()
    run = meta.execute("SELECT state FROM dag_run WHERE dag_id = 'newswatch_ingest'").fetchall()
    meta.close()
    assert polls == {"Alliance Watch": "success", "Broken Outlet": "failed"}
    assert process == [("success",)] and run == [("success",)]

    con = duckdb.connect(env["NEWSWATCH_DB"], read_only=True)
    broken = con.execute("SELECT state, last_error FROM sources WHERE name = 'Broken Outlet'").fetchall()
    counts = con.execute("SELECT feeds_ok, feeds_failed FROM runs WHERE kind = 'ingest'").fetchall()
    con.close()
    assert broken[0][0] == "failing" and "500" in broken[0][1]
    assert counts == [(1, 1)]
