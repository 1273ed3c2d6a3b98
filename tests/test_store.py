"""The storage layer's promises: readers say what they wait for and give up in seconds, a path where no
warehouse exists is an error for commands that only read, and a run that raises is marked failed with its
chunk rolled back (the next run completes the work)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from click.testing import CliRunner

import pipeline.chunk
from pipeline.cli import main
from pipeline.ingest import run_ingest
from pipeline.settings import get_settings
from pipeline.store.arrow_columns import UTC_MICROS, binary_column, utc_timestamps
from pipeline.store.connection import connect

HOLD = textwrap.dedent("""
    import sys, time
    from pipeline.store.connection import connect
    with connect(sys.argv[1], holder="ingest run ingest-test-1"):
        print("holding", flush=True)
        time.sleep(60)
""")


@pytest.fixture
def held_warehouse(settings):
    with connect(settings.db):
        pass  # created and migrated
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(settings.db)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "holding"
    yield settings
    holder.kill()
    holder.wait()


def test_a_reader_says_who_holds_the_warehouse_and_gives_up_in_seconds(held_warehouse, monkeypatch):
    monkeypatch.setenv("NEWSWATCH_DB_READ_TIMEOUT_S", "1")
    get_settings.cache_clear()
    started = time.monotonic()
    result = CliRunner().invoke(main, ["status"])
    waited = time.monotonic() - started
    assert result.exit_code == 1
    assert "warehouse busy: ingest run ingest-test-1 (pid" in result.output
    assert "gave up after 1 s" in result.output
    assert waited < 30  # seconds, not the writers' 10 minutes


@pytest.mark.parametrize("command", [["status"], ["feeds", "--json"], ["quarantine", "list"],
                                     ["query", "SELECT 1"], ["label", "a1", "2"], ["rescore"]])
def test_a_db_path_pointing_nowhere_is_an_error_not_a_new_warehouse(tmp_path: Path, command):
    missing = tmp_path / "typo.duckdb"
    result = CliRunner().invoke(main, [*command, "--db", str(missing)])
    assert result.exit_code == 1, result.output
    assert f"no warehouse at {missing}" in result.output
    assert not missing.exists()


def test_a_run_that_raises_is_marked_failed_and_its_chunk_rolls_back(settings, monkeypatch):
    real_load = pipeline.chunk.load_items

    def broken_load(*args, **kwargs):
        raise OSError("disk on fire")

    monkeypatch.setattr(pipeline.chunk, "load_items", broken_load)
    with pytest.raises(OSError, match="disk on fire"):
        run_ingest(settings, include_feeds=False)
    with connect(settings.db, read_only=True) as con:
        runs = con.execute("SELECT status, details, items_seen, loaded FROM runs").fetchall()
        articles = con.execute("SELECT count(*) FROM articles").fetchall()[0][0]
        validations = con.execute("SELECT count(*) FROM validation_runs").fetchall()[0][0]
    assert runs[0][0] == "failed" and "disk on fire" in json.loads(runs[0][1])["error"]
    assert articles == 0 and validations == 0  # the chunk's validation results rolled back with it
    assert runs[0][2:] == (0, 0)  # counters as committed: the rolled-back chunk is not counted, the retry counts it

    monkeypatch.setattr(pipeline.chunk, "load_items", real_load)
    summary = run_ingest(settings, include_feeds=False)
    assert summary.accounted and summary.loaded > 0 and summary.abandoned_runs == []
    with connect(settings.db, read_only=True) as con:
        statuses = sorted(r[0] for r in con.execute("SELECT status FROM runs").fetchall())
        (loaded, articles), = con.execute("SELECT (SELECT sum(loaded) FROM runs), count(*) FROM articles").fetchall()
    assert statuses == ["failed", "success"]
    assert loaded == articles


@contextmanager
def _warehouse_at_migration(db: Path, last: int) -> Iterator[Any]:
    """A warehouse file built by migrations 1..``last`` only, as an older newswatch left it (open for writing
    rows of that schema; the next ``connect`` migrates the rest)."""
    import duckdb

    from pipeline.store.connection import MIGRATIONS_DIR

    con = duckdb.connect(str(db))
    try:
        con.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, "
                    "applied_at TIMESTAMPTZ NOT NULL)")
        for path in sorted(MIGRATIONS_DIR.glob("[0-9][0-9][0-9]_*.sql")):
            if int(path.name[:3]) <= last:
                con.execute(path.read_text(encoding="utf-8"))
                con.execute("INSERT INTO schema_migrations VALUES (?, ?, now())", [int(path.name[:3]), path.stem[4:]])
        yield con
    finally:
        con.close()


def test_story_features_stored_as_json_before_migration_009_read_back_after_it(tmp_path: Path):
    """A warehouse from before the packed signatures: its JSON rows survive the migration and read back alongside
    the MessagePack rows written after it."""
    import msgspec

    from pipeline.store.stories import NewSignatures, StoryStore

    db = tmp_path / "old.duckdb"
    seen = datetime(2026, 1, 5, 12, tzinfo=UTC)
    old_features = {"title_key": "nato summit", "tokens": {"nato": 1.5, "szczyt": 2.0}, "vector": ""}
    with _warehouse_at_migration(db, 8) as con:
        con.execute("INSERT INTO story_signatures VALUES ('old', 'story-1', ?, ?)", [seen, json.dumps(old_features)])

    new_features = {"title_key": "drones over base", "tokens": {"drone": 1.0}, "vector": "AAE="}
    with connect(db) as migrated:
        stories = StoryStore(migrated)
        stories.save_signatures(NewSignatures(["new"], ["story-2"], [seen], [msgspec.msgpack.encode(new_features)]))
        read = stories.signatures_between(seen - timedelta(days=1), seen + timedelta(days=1))
        kind = migrated.execute("SELECT data_type FROM information_schema.columns WHERE table_name = "
                                "'story_signatures' AND column_name = 'features'").fetchall()[0][0]
    assert kind == "BLOB"
    assert [(s.article_id, s.story_id, s.features) for s in read] == [("new", "story-2", new_features),
                                                                     ("old", "story-1", old_features)]


def test_quarantine_written_as_a_set_keeps_one_row_per_id_latest_reasons_and_releases_by_article(tmp_path: Path):
    """A batch naming one quarantine id twice keeps one row with the later reasons; a later run refreshes run and
    reasons without touching the first sighting; releasing loaded articles closes exactly their open rows."""
    from pipeline.store.quarantine import QuarantineStore
    from tests.test_validation import make_item

    first, second, third = make_item(1), make_item(2), make_item(3)
    monday, tuesday = datetime(2026, 1, 5, 9, tzinfo=UTC), datetime(2026, 1, 6, 9, tzinfo=UTC)
    reason = [{"expectation": "url_scheme_http", "column": "url", "value": "ftp://x", "severity": "error"}]
    other = [{"expectation": "title_or_summary_present", "column": "title", "value": "", "severity": "error"}]
    with connect(tmp_path / "q.duckdb") as con:
        store = QuarantineStore(con)
        store.put([("q1", first, reason), ("q2", second, reason), ("q1", first, other)], "run-1", monday)
        store.put([("q2", second, other), ("q3", third, reason)], "run-2", tuesday)
        rows = {r["id"]: r for r in store.rows(status=None)}
        released = store.release([second.article_id, "never-quarantined"], tuesday)
        status = dict(con.execute("SELECT quarantine_id, status FROM quarantine").fetchall())
    assert sorted(rows) == ["q1", "q2", "q3"]
    assert (rows["q1"]["run_id"], rows["q1"]["reasons"]) == ("run-1", other)
    assert (rows["q2"]["run_id"], rows["q2"]["reasons"], rows["q2"]["created_at"]) == (
        "run-2", other, monday.isoformat())
    assert rows["q3"]["title"] == third.title
    assert released == 1
    assert status == {"q1": "open", "q2": "released", "q3": "open"}


def test_utc_timestamps_match_arrows_own_conversion_for_aware_naive_and_missing_values() -> None:
    aware = [datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=timezone(timedelta(hours=-5))), None,
             datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)]
    assert utc_timestamps(aware).equals(pa.array(aware, UTC_MICROS))
    assert utc_timestamps(aware)[0].as_py() == datetime(2026, 3, 1, 17, 30, 15, 123456, tzinfo=UTC)
    naive = [datetime(2026, 3, 1, 12, 0), aware[0]]  # a naive time is read as UTC, as Arrow reads it
    assert utc_timestamps(naive).to_pylist()[0] == datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert len(utc_timestamps([])) == 0


def test_binary_column_holds_the_bytes_given_empty_ones_and_none_at_all() -> None:
    values = [b"\x81\xa1a\x01", b"", bytes(range(256)) * 40, "żółw".encode()]
    column = binary_column(values)
    assert column.type == pa.large_binary() and column.null_count == 0
    assert column.to_pylist() == values
    assert binary_column([]).to_pylist() == []


def test_revisions_and_signatures_keep_their_rows_when_their_keys_are_dropped(tmp_path: Path):
    """Migration 010 rebuilds both tables without primary keys; what they held stays, and an article's history
    reads back in order."""
    db = tmp_path / "keyed.duckdb"
    seen = datetime(2026, 1, 5, 12, tzinfo=UTC)
    with _warehouse_at_migration(db, 9) as con:
        con.execute("INSERT INTO article_revisions VALUES ('a1', 2, 'Edited', 's2', 'h2', ?, 'r2'), "
                    "('a1', 1, 'First', 's1', 'h1', ?, 'r1')", [seen + timedelta(hours=1), seen])
        con.execute("INSERT INTO story_signatures VALUES ('a1', 'story-1', ?, '\\x81\\xA1a\\x01'::BLOB)", [seen])

    with connect(db) as migrated:
        history = migrated.execute("SELECT revision, title, run_id FROM article_revisions WHERE article_id = 'a1' "
                                   "ORDER BY revision").fetchall()
        signatures = migrated.execute("SELECT article_id, story_id, features FROM story_signatures").fetchall()
        keys = migrated.execute("SELECT table_name FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY' "
                                "AND table_name IN ('article_revisions', 'story_signatures', 'articles')").fetchall()
    assert history == [(1, "First", "r1"), (2, "Edited", "r2")]
    assert signatures == [("a1", "story-1", b"\x81\xa1a\x01")]
    assert keys == [("articles",)]
