"""The warehouse on DuckLake (NEWSWATCH_WAREHOUSE=ducklake:...): the same migrations, views and repositories as
the DuckDB file give the same articles, stories and accounting; readers never wait; several writers load into
one lake side by side (a PostgreSQL catalog, data on S3 served by moto), each item exactly once."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner
from pytest_httpserver import HTTPServer

from pipeline.cli import main
from pipeline.settings import Settings, get_settings
from pipeline.store import open_warehouse
from pipeline.store.lake import is_conflict, retry_conflicts
from tests.conftest import VENV_BIN
from tests.feeds_server import ConcurrencyMeter, serve_feeds
from tests.services import S3, Postgres


def _use(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> Settings:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    return get_settings()


def _cli(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _contents(settings: Settings) -> dict[str, object]:
    with open_warehouse(settings) as wh:
        _, articles = wh.query("SELECT article_id, story_id, relevance_label, duplicate_of, source_kind "
                               "FROM articles ORDER BY article_id")
        _, stories = wh.query("SELECT story_id, member_count, headline FROM stories ORDER BY story_id")
        _, runs = wh.query("SELECT kind, items_seen, loaded, updated, duplicates, quarantined, status FROM runs "
                           "ORDER BY started_at")
        _, accounted = wh.query("SELECT bool_and(accounted) FROM v_run_summary")
    return {"articles": articles, "stories": stories, "runs": runs, "accounted": accounted[0][0]}


def test_the_lake_holds_what_the_duckdb_file_holds(tmp_path: Path, settings: Settings, httpserver: HTTPServer,
                                                  monkeypatch: pytest.MonkeyPatch):
    feeds_file = tmp_path / "feeds.toml"
    serve_feeds(httpserver, feeds=3, items=4, path=feeds_file)
    monkeypatch.setenv("NEWSWATCH_FEEDS_FILE", str(feeds_file))
    seen = {}
    for backend, env in {
        "file": {"NEWSWATCH_WAREHOUSE": f"duckdb://{tmp_path / 'file.duckdb'}"},
        "lake": {"NEWSWATCH_WAREHOUSE": f"ducklake:{tmp_path / 'catalog.ducklake'}",
                 "NEWSWATCH_DATA_PATH": str(tmp_path / "lake-data")},
    }.items():
        monkeypatch.setenv("NEWSWATCH_LANDING_DIR", str(tmp_path / f"landing-{backend}"))
        current = _use(monkeypatch, env)
        first = json.loads(_cli("ingest", "--all", "--json"))
        again = json.loads(_cli("ingest", "--all", "--json"))
        assert (first["loaded"], again["loaded"]) == (17, 0), backend  # 5 seeds + 3 feeds x 4 items; then nothing
        seen[backend] = _contents(current)
        digest = json.loads(_cli("digest", "--json", "--out", str(tmp_path / f"digest-{backend}")))
        assert digest["relevant_stories"] >= 5
        assert "Patriot" in _cli("search", "Patriot batteries")
        assert json.loads(_cli("status", "--json"))["articles"] == 17
    assert seen["lake"]["articles"] == seen["file"]["articles"]
    assert seen["lake"]["stories"] == seen["file"]["stories"]
    assert [r[:6] for r in seen["lake"]["runs"]] == [r[:6] for r in seen["file"]["runs"]]
    assert seen["lake"]["accounted"] is True
    assert "catalog.ducklake" in json.loads(_cli("status", "--json"))["db"]


def test_a_lake_that_does_not_exist_is_an_error_for_a_reader(tmp_path: Path, settings: Settings,
                                                             monkeypatch: pytest.MonkeyPatch):
    _use(monkeypatch, {"NEWSWATCH_WAREHOUSE": f"ducklake:{tmp_path / 'none.ducklake'}",
                       "NEWSWATCH_DATA_PATH": str(tmp_path / "data")})
    result = CliRunner().invoke(main, ["status"])
    assert result.exit_code != 0 and "no warehouse in ducklake:" in result.output


def test_a_bad_warehouse_url_is_a_configuration_error(settings: Settings, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("NEWSWATCH_WAREHOUSE", "ducklake:/x/catalog.ducklake")  # no NEWSWATCH_DATA_PATH
    get_settings.cache_clear()
    result = CliRunner().invoke(main, ["status"])
    assert result.exit_code != 0 and "NEWSWATCH_DATA_PATH" in result.output
    monkeypatch.setenv("NEWSWATCH_WAREHOUSE", "mysql://x")
    get_settings.cache_clear()
    result = CliRunner().invoke(main, ["status"])
    assert result.exit_code != 0 and "must start with duckdb: or ducklake:" in result.output


@pytest.mark.cluster
def test_writers_side_by_side_on_a_postgres_catalog_with_data_on_s3(
        tmp_path: Path, settings: Settings, threaded_server: HTTPServer, postgres: Postgres, s3: S3,
        monkeypatch: pytest.MonkeyPatch):
    feeds_file = tmp_path / "feeds.toml"
    meter = ConcurrencyMeter(seconds=0.3)
    names = serve_feeds(threaded_server, feeds=30, items=10, path=feeds_file, meter=meter)
    env = {**os.environ, "NEWSWATCH_FEEDS_FILE": str(feeds_file), "NO_PROXY": "127.0.0.1,localhost",
           "NEWSWATCH_FETCH_PER_HOST_LIMIT": "2", "NEWSWATCH_FETCH_CONCURRENCY": "8",
           "NEWSWATCH_WAREHOUSE": f"ducklake:postgres:{postgres.dsn(postgres.create_database())}",
           "NEWSWATCH_LANDING_DIR": str(tmp_path / "landing"), **s3.env("writers")}
    env.pop("NEWSWATCH_DB", None)
    current = _use(monkeypatch, {k: v for k, v in env.items() if k.startswith("NEWSWATCH_")})
    _cli("ingest", "--no-feeds", "--no-seeds", "--json")  # create the schema once, as `make cluster` does
    halves = [names[0::2], names[1::2]]

    def writers() -> list[subprocess.Popen[str]]:
        return [subprocess.Popen([str(VENV_BIN / "newswatch"), "ingest", "--all", "--no-seeds", "--json",
                                  *[arg for name in half for arg in ("--feed", name)]],
                                 env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for half in halves]

    running = writers()
    reads_while_writing = []
    while any(p.poll() is None for p in running):
        with open_warehouse(current) as wh:  # a reader: never waits for the writers
            started = time.monotonic()
            count = wh.query("SELECT count(*) FROM articles")[1][0][0]
            if all(p.poll() is None for p in running):
                reads_while_writing.append((count, time.monotonic() - started))
        time.sleep(0.2)
    summaries = []
    for process in running:
        out, err = process.communicate()
        assert process.returncode == 0, err[-3000:]
        summaries.append(json.loads(out.strip().splitlines()[-1]))
    assert reads_while_writing, "no read completed while both writers ran"
    assert max(seconds for _, seconds in reads_while_writing) < 10
    assert [s["loaded"] for s in summaries] == [150, 150]
    assert [s["feeds_ok"] for s in summaries] == [15, 15]
    # one host, two writers with 8 fetch threads each: the limit of 2 requests at a time held across both
    assert meter.most == 2
    with open_warehouse(current) as wh:
        (total, distinct), = wh.query("SELECT count(*), count(DISTINCT article_id) FROM articles")[1]
        _, accounted = wh.query("SELECT bool_and(accounted), count(*) FROM v_run_summary WHERE kind = 'ingest'")
    assert (total, distinct) == (300, 300)
    assert accounted[0][0] is True

    again = writers()  # the same bodies again: nothing new, by either writer
    for process in again:
        out, err = process.communicate()
        assert process.returncode == 0, err[-3000:]
        assert json.loads(out.strip().splitlines()[-1])["loaded"] == 0
    with open_warehouse(current) as wh:
        assert wh.query("SELECT count(*) FROM articles")[1][0][0] == 300


def test_process_batches_one_on_the_file_several_by_feed_on_a_lake(tmp_path: Path, settings: Settings,
                                                                   monkeypatch: pytest.MonkeyPatch):
    from pipeline.feeds.outcome import PollOutcome
    from pipeline.ingest import plan_batches

    polls = [PollOutcome(source_id=f"feed:{n}", feed_name=str(n), url=f"https://x{n}.example/", new_url=None,
                         status=200, outcome="changed", error=None, etag=None, last_modified=None, body_hash=None,
                         landing=None, headers={}, polled_at="2026-01-01T00:00:00+00:00", retry_after=None,
                         elapsed_s=0.1) for n in (3, 1, 4, 5, 9, 2)]
    on_file = plan_batches(settings, polls)
    assert [(len(b["outcomes"]), b["include_seeds"]) for b in on_file] == [(6, True)]
    lake = _use(monkeypatch, {"NEWSWATCH_WAREHOUSE": f"ducklake:{tmp_path / 'c.ducklake'}",
                              "NEWSWATCH_DATA_PATH": str(tmp_path / "d"), "NEWSWATCH_PROCESS_BATCHES": "4"})
    batches = plan_batches(lake, polls)
    assert [[o.feed_name for o in b["outcomes"]] for b in batches] == [["1", "5"], ["2", "9"], ["3"], ["4"]]
    assert [b["include_seeds"] for b in batches] == [True, False, False, False]
    assert [len(b["outcomes"]) for b in plan_batches(lake, [])] == [0]  # the seeds still run


def test_ingest_of_a_feed_that_is_not_listed_is_an_error(tmp_path: Path, settings: Settings):
    result = CliRunner().invoke(main, ["ingest", "--feed", "No Such Feed", "--json"])
    assert result.exit_code != 0 and "no feed named 'No Such Feed'" in result.output


@pytest.mark.parametrize(("error", "conflict"), [
    (duckdb.TransactionException("Failed to commit DuckLake transaction. Transaction conflict - attempting to "
                                 "insert into table with index \"3\" - but another transaction has deleted inlined "
                                 "data"), True),
    (duckdb.Error("Failed to commit: ERROR: could not serialize access due to concurrent update"), True),
    (duckdb.IOException('ERROR: duplicate key value violates unique constraint "ducklake_snapshot_pkey"'), True),
    (duckdb.CatalogException("Table with name stories already exists!"), True),
    (duckdb.ConstraintException('Duplicate key "article_id: a1" violates primary key constraint'), False),
    (duckdb.IOException("Could not connect to server: Connection refused"), False),
    (OSError("Transaction conflict"), False),  # only the database reports a lost race
])
def test_a_lost_race_is_retried_and_nothing_else_is(error: Exception, conflict: bool):
    assert is_conflict(error) is conflict
    calls = []

    def work() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise error
        return "done"

    if conflict:
        assert retry_conflicts(work, backoff_s=0.0) == "done" and len(calls) == 2
    else:
        with pytest.raises(type(error)):
            retry_conflicts(work, backoff_s=0.0)
        assert len(calls) == 1
