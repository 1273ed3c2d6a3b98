"""Scale-out figures for ``make bench`` (issue 16), on loopback servers started for the measurement:

- the load into DuckLake (catalog in PostgreSQL; data on moto S3, or in a local folder) against the DuckDB file,
  for the same landed corpus processed the same way: rows/s of the `load` stage;
- the wall time of one cluster ingest (mapped polls, batches processed side by side) with 1 and with 2 Celery
  workers, from the scheduler's own record of the DAG run.

Each returns a dict, or ``None`` when PostgreSQL (and, for the cluster, Redis) is not installed
(``make cluster-deps``)."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from pipeline.scaleout import Cluster, newswatch_settings, postgres_bin

INGEST_FEEDS, INGEST_ITEMS = 40, 25


def _home(prefix: str) -> Path:
    # not under a private temp folder: as root, PostgreSQL runs as the postgres user and must reach it
    home = Path(tempfile.mkdtemp(prefix=prefix))
    home.chmod(0o755)
    return home


def lake_load(size: int = 10_000) -> dict[str, Any] | None:
    """The same corpus processed into the DuckDB file, a lake on S3 and a lake on a local folder."""
    if postgres_bin() is None:
        return None
    from pipeline.ingest import process
    from tests.bench.run import land_corpus

    home = _home("newswatch-bench-lake-")
    cluster = Cluster(home / "cluster")
    try:
        deployment = newswatch_settings(cluster.start_storage(databases=("lake_folder",)))
        # the lake's own settings only: landing, digest and validation folders are each run's
        lake = {k: v for k, v in deployment.items() if k in ("warehouse", "data_path") or k.startswith("s3_")}
        folder_lake = {"warehouse": lake["warehouse"].replace("dbname=lake", "dbname=lake_folder"),
                       "data_path": f"{home / 'lake-files'}/"}
        backends = {"duckdb_file": {}, "ducklake_s3": lake, "ducklake_folder": folder_lake}
        figures: dict[str, Any] = {"items": size}
        for name, overrides in backends.items():
            settings, outcomes, _ = land_corpus(size, home / name, **overrides)
            started = time.perf_counter()
            summary = process(settings, outcomes, include_seeds=False)
            seconds = time.perf_counter() - started
            assert summary.accounted, summary.to_dict()
            load_s = summary.stage_seconds.get("load", 0.0)
            figures[name] = {"loaded": summary.loaded, "load_s": round(load_s, 3),
                             "load_rows_per_s": round(summary.loaded / load_s, 1) if load_s else None,
                             "end_to_end_s": round(seconds, 3)}
        file_rate = figures["duckdb_file"]["load_rows_per_s"]
        for name in ("ducklake_s3", "ducklake_folder"):
            rate = figures[name]["load_rows_per_s"]
            figures[name]["load_vs_file"] = round(rate / file_rate, 3) if rate and file_rate else None
        return figures
    finally:
        cluster.stop()
        shutil.rmtree(home, ignore_errors=True)


def cluster_ingest(workers: int, feeds: int = INGEST_FEEDS, items: int = INGEST_ITEMS) -> dict[str, Any] | None:
    """Start the cluster profile with ``workers`` Celery workers, let its scheduled ingest take ``feeds`` loopback
    feeds of ``items`` items, and read the run's wall time and its tasks' hosts from the metadata DB."""
    if postgres_bin() is None or shutil.which("redis-server") is None:
        return None
    import psycopg2
    from pytest_httpserver import HTTPServer

    from tests.feeds_server import serve_feeds

    home = _home("newswatch-bench-cluster-")
    cluster = Cluster(home / "cluster")
    server = HTTPServer(host="127.0.0.1", threaded=True)
    server.start()
    try:
        feeds_file = home / "feeds.toml"
        serve_feeds(server, feeds=feeds, items=items, path=feeds_file)
        env = cluster.start(feeds_file, {"NEWSWATCH_PROCESS_BATCHES": "4"}, workers=workers)
        url = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].replace("postgresql+psycopg2://", "postgresql://")
        deadline = time.monotonic() + 900
        while True:
            with psycopg2.connect(url) as connection, connection.cursor() as cursor:
                cursor.execute("SELECT state, extract(epoch FROM end_date - start_date) FROM dag_run "
                               "WHERE dag_id = 'newswatch_ingest'")
                run = cursor.fetchall()
            if run and run[0][0] in ("success", "failed"):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"the cluster ingest did not finish in 900 s: {run}")
            time.sleep(1.0)
        with psycopg2.connect(url) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT count(DISTINCT hostname), count(*) FROM task_instance "
                           "WHERE dag_id = 'newswatch_ingest' AND task_id IN ('poll_feed', 'process')")
            hosts, tasks = cursor.fetchone()
        from pipeline.settings import Settings
        from pipeline.store import open_warehouse

        with open_warehouse(Settings(**newswatch_settings(env))) as wh:
            loaded = wh.query("SELECT count(*) FROM articles WHERE source_kind = 'feed'")[1][0][0]
        return {"workers": workers, "feeds": feeds, "items": feeds * items, "state": run[0][0],
                "wall_s": round(float(run[0][1]), 1), "loaded": loaded, "hosts_that_worked": hosts,
                "tasks": tasks}
    finally:
        cluster.stop()
        server.clear()
        server.stop()
        shutil.rmtree(home, ignore_errors=True)
