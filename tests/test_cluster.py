"""The cluster profile for real (`make cluster`): PostgreSQL, Redis, moto S3, the Airflow api-server, scheduler,
dag-processor and two Celery workers on loopback, ingesting 30 loopback feeds with mapped polls and parallel
processing into a DuckLake whose catalog is in PostgreSQL and whose data is on S3."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from pipeline.scaleout import Cluster, newswatch_settings, postgres_bin
from pipeline.settings import Settings
from pipeline.store import open_warehouse
from tests.conftest import VENV_BIN
from tests.feeds_server import ConcurrencyMeter, serve_feeds

pytestmark = [pytest.mark.cluster, pytest.mark.airflow,
              pytest.mark.skipif(postgres_bin() is None or shutil.which("redis-server") is None,
                                 reason="PostgreSQL/Redis not installed (make cluster-deps)")]

FEEDS, ITEMS, SEEDS = 30, 10, 5


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    # not under pytest's private temp folders: as root, PostgreSQL runs as the postgres user and must reach it
    home = Path(tempfile.mkdtemp(prefix="newswatch-cluster-"))
    running = Cluster(home)
    yield running
    running.stop()
    assert not list((home / "pids").glob("*.pid")), "cluster-stop left processes behind"
    shutil.rmtree(home, ignore_errors=True)


def _metadata(settings: dict[str, str], sql: str) -> list[tuple[object, ...]]:
    import psycopg2

    url = settings["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].replace("postgresql+psycopg2://", "postgresql://")
    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def _lake(settings: dict[str, str]) -> Settings:
    return Settings(**newswatch_settings(settings))


def _wait_for_ingest_runs(settings: dict[str, str], at_least: int, timeout_s: float = 600.0) -> list[tuple]:
    """Wait until ``at_least`` ingest runs exist and none is queued or running; meanwhile, read the lake
    whenever a `process` task is running. Returns (count, seconds) of those reads."""
    lake = _lake(settings)
    reads = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        states = [r[0] for r in _metadata(settings, "SELECT state FROM dag_run WHERE dag_id = 'newswatch_ingest'")]
        if len(states) >= at_least and all(s in ("success", "failed") for s in states):
            return reads
        writing = "SELECT count(*) FROM task_instance WHERE task_id = 'process' AND state = 'running'"
        if _metadata(settings, writing)[0][0]:
            started = time.monotonic()
            with open_warehouse(lake) as wh:  # a reader while the writers commit: it never waits for them
                count = wh.query("SELECT count(*) FROM articles")[1][0][0]
            if _metadata(settings, writing)[0][0]:
                reads.append((count, time.monotonic() - started))
        time.sleep(0.5)
    raise AssertionError(f"ingest runs did not finish within {timeout_s:g} s: {states}")


def test_two_celery_workers_ingest_thirty_feeds_into_a_lake_exactly_once(
        cluster: Cluster, threaded_server: HTTPServer, tmp_path: Path):
    feeds_file = tmp_path / "feeds.toml"
    meter = ConcurrencyMeter(seconds=1.0)
    serve_feeds(threaded_server, feeds=FEEDS, items=ITEMS, path=feeds_file, meter=meter)
    settings = cluster.start(feeds_file, {"NEWSWATCH_FETCH_PER_HOST_LIMIT": "2", "NEWSWATCH_PROCESS_BATCHES": "4"})
    # the scheduler runs the latest scheduled ingest as soon as it starts: mapped polls, then parallel batches
    reads = _wait_for_ingest_runs(settings, at_least=1)
    assert {r[0] for r in _metadata(settings, "SELECT state FROM dag_run WHERE dag_id = 'newswatch_ingest'")} == {
        "success"}
    lake = _lake(settings)
    with open_warehouse(lake) as wh:
        (total, distinct, feed_items), = wh.query(
            "SELECT count(*), count(DISTINCT article_id), count(*) FILTER (WHERE source_kind = 'feed') "
            "FROM articles")[1]
        (loaded, accounted, batches), = wh.query(
            "SELECT sum(loaded), bool_and(accounted), count(*) FROM v_run_summary WHERE kind = 'ingest'")[1]
        runs = wh.query("SELECT status, items_seen, loaded, details->>'error' FROM runs WHERE kind = 'ingest'")[1]
    tries = _metadata(settings, "SELECT task_id, map_index, try_number, state FROM task_instance "
                                "WHERE dag_id = 'newswatch_ingest' AND try_number > 1")
    assert (total, distinct, feed_items) == (FEEDS * ITEMS + SEEDS, FEEDS * ITEMS + SEEDS, FEEDS * ITEMS)
    # every run's counters match what it committed, retried tasks included
    assert loaded == FEEDS * ITEMS + SEEDS and accounted is True, f"runs: {runs}; retried tasks: {tries}"
    assert batches >= 4  # processed in batches side by side (plus the empty run that created the schema)
    workers = _metadata(settings, "SELECT DISTINCT hostname FROM task_instance WHERE dag_id = 'newswatch_ingest' "
                                  "AND task_id IN ('poll_feed', 'process')")
    assert len(workers) == 2, f"not both workers worked: {workers}"
    overlapping = _metadata(settings, "SELECT count(*) FROM task_instance a JOIN task_instance b ON "
                                      "a.task_id = 'process' AND b.task_id = 'process' AND a.id < b.id "
                                      "AND a.start_date < b.end_date AND b.start_date < a.end_date")
    assert overlapping[0][0] >= 1, "no two process batches wrote at the same time"
    assert reads, "no read of the lake completed while a batch was writing"
    assert max(seconds for _, seconds in reads) < 10
    assert meter.most == 2  # one host, up to 8 concurrent poll tasks on two workers: the limit held across them

    # a second run: the feeds are unchanged, nothing is added
    airflow_env = {**os.environ, **settings}
    subprocess.run([str(VENV_BIN / "airflow"), "dags", "trigger", "newswatch_ingest"], env=airflow_env,
                   check=True, capture_output=True)
    _wait_for_ingest_runs(settings, at_least=2)
    with open_warehouse(lake) as wh:
        assert wh.query("SELECT count(*) FROM articles")[1][0][0] == FEEDS * ITEMS + SEEDS
        (later_loaded,), = wh.query("SELECT sum(loaded) FROM runs WHERE kind = 'ingest' AND started_at > "
                                    "(SELECT max(finished_at) FROM runs WHERE loaded > 0)")[1]
    assert later_loaded == 0
