"""Kill test: ``newswatch ingest`` is killed with SIGKILL at random moments of a multi-chunk run (a real
process writing a real DuckDB file, feeds over loopback HTTP). After each kill the warehouse opens and holds
only whole chunks; the next run marks the killed run abandoned and completes its work with no duplicate rows.

The runs are forked from this process once Great Expectations and the classifier are imported, so that each
run starts in milliseconds instead of the ~12 s the imports cost a fresh interpreter."""

from __future__ import annotations

import os
import random
import signal
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from itertools import accumulate
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from pipeline.ingest import chunk_plan
from pipeline.settings import get_settings
from pipeline.store.connection import connect

FEEDS = 12
ITEMS_PER_FEED = 8
CHUNK_BODIES = 2  # five chunks of two bodies, then the last two one at a time (the seeds ride in the first)
# how many bodies a run can have committed: the ends of its chunks (``ingest.chunk_plan``)
WHOLE_CHUNKS = set(accumulate((len(chunk) for chunk in chunk_plan(list(range(FEEDS)), CHUNK_BODIES)), initial=0))
KILLS = 20
PLACES = ["Vilnius", "Tallinn", "Riga", "Warsaw", "Helsinki", "Bucharest", "Oslo", "Gdansk", "Narva",
          "Constanta", "Kaunas", "Turku"]
EVENTS = ["air defence drill", "drone sighting", "cable damage inquiry", "brigade deployment",
          "ammunition contract", "border guard exercise", "GPS jamming report", "naval patrol"]


def _rss(feed: int, base: str) -> str:
    now = datetime.now(UTC)
    items = []
    for n in range(ITEMS_PER_FEED):
        published = format_datetime(now - timedelta(minutes=feed * ITEMS_PER_FEED + n))
        place, event = PLACES[feed], EVENTS[n]
        items.append(f"<item><title>{place}: NATO {event} number {feed}-{n} reported</title>"
                     f"<link>{base}/story/{feed}/{n}</link><guid>{base}/story/{feed}/{n}</guid>"
                     f"<pubDate>{published}</pubDate><description>Officials in {place} described the {event} "
                     f"(case {feed}-{n}) involving allied forces on the eastern flank.</description></item>")
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Outlet {feed}</title>'
            f"<link>{base}</link><description>test</description>{''.join(items)}</channel></rss>")


@pytest.fixture
def kill_env(tmp_path: Path, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    base = httpserver.url_for("").rstrip("/")
    lines = []
    for feed in range(FEEDS):
        httpserver.expect_request(f"/feed{feed}.xml").respond_with_data(_rss(feed, base),
                                                                       content_type="application/rss+xml")
        lines.append(f'[[feeds]]\nname = "Outlet {feed}"\nurl = "{base}/feed{feed}.xml"\nlanguage = "en"\n')
    (tmp_path / "feeds.toml").write_text("\n".join(lines), encoding="utf-8")
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    for n, place in enumerate(["Vilnius", "Tallinn", "Riga"]):
        (seeds / f"seed{n}.txt").write_text(f"date 2025-03-0{n + 1} Allied defence chiefs met in {place} to "
                                            "review eastern flank readiness, officials said.\n", encoding="utf-8")
    monkeypatch.setenv("NEWSWATCH_FEEDS_FILE", str(tmp_path / "feeds.toml"))
    monkeypatch.setenv("NEWSWATCH_SEEDS_DIR", str(seeds))
    monkeypatch.setenv("NEWSWATCH_CHUNK_BODIES", str(CHUNK_BODIES))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    return {"root": tmp_path}


def _use(monkeypatch: pytest.MonkeyPatch, folder: Path) -> Path:
    folder.mkdir()
    monkeypatch.setenv("NEWSWATCH_DB", str(folder / "wh.duckdb"))
    monkeypatch.setenv("NEWSWATCH_LANDING_DIR", str(folder / "landing"))
    get_settings.cache_clear()
    return folder / "wh.duckdb"


def _start_ingest() -> int:
    """Fork a real process running ``newswatch ingest``; returns its pid."""
    pid = os.fork()
    if pid == 0:  # the child: run the CLI, never return into pytest
        code = 1
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            from pipeline.cli import main

            get_settings.cache_clear()
            main(["ingest", "--json"], standalone_mode=False)
            code = 0
        finally:
            os._exit(code)
    return pid


def _wait(pid: int, timeout_s: float = 120.0) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    raise AssertionError("ingest did not finish in time")


def _snapshot(db: Path) -> dict[str, object]:
    with connect(db) as con:  # as the next run opens it: recovered and migrated
        def rows(sql: str) -> list[tuple]:
            return con.execute(sql).fetchall()

        return {
            "articles": rows("SELECT article_id FROM articles ORDER BY 1"),
            "per_source": dict(rows("SELECT source_id, count(*) FROM articles GROUP BY 1")),
            "quarantined": dict(rows("SELECT source_id, count(*) FROM quarantine GROUP BY 1")),
            "bodies": dict(rows("SELECT source_id, items FROM processed_bodies")),
            "body_hash_known": dict(rows("SELECT source_id, last_body_hash IS NOT NULL FROM sources "
                                         "WHERE kind = 'feed'")),
            "orphans": rows("SELECT count(*) FROM articles a LEFT JOIN stories s USING (story_id) "
                            "WHERE s.story_id IS NULL")[0][0],
            "revisions": rows("SELECT count(*) FROM article_revisions")[0][0],
            "signatures": rows("SELECT count(*) FROM story_signatures")[0][0],
            "runs": rows("SELECT run_id, status, accounted FROM v_run_summary ORDER BY started_at"),
            "seeds": rows("SELECT count(*) FROM articles WHERE source_kind = 'seed'")[0][0],
        }


def _assert_whole_chunks(snap: dict[str, object]) -> None:
    bodies, per_source, quarantined = snap["bodies"], snap["per_source"], snap["quarantined"]
    assert snap["orphans"] == 0, "an article whose story row is missing"
    for source_id, items in bodies.items():  # every processed body's items are there ...
        assert per_source.get(source_id, 0) + quarantined.get(source_id, 0) == items, source_id
    feed_sources = {s for s in per_source if s.startswith("feed:")}
    assert feed_sources <= set(bodies), "articles of a body that is not marked processed"  # ... and only those
    for source_id, known in snap["body_hash_known"].items():  # feed state moves with its body
        assert known == (source_id in bodies), source_id
    assert snap["seeds"] == (3 if bodies else 0), "the seeds commit with the first chunk"
    assert len(bodies) in WHOLE_CHUNKS
    assert all(accounted for _, status, accounted in snap["runs"] if status == "success")


@pytest.mark.slow
def test_sigkill_at_random_moments_leaves_whole_chunks_and_the_next_run_completes(kill_env, monkeypatch):
    root = kill_env["root"]
    from pipeline.ingest import run_ingest

    _use(monkeypatch, root / "warm-up")
    assert run_ingest(get_settings()).accounted  # imports and loads everything once; every fork inherits it

    reference_db = _use(monkeypatch, root / "reference")
    started = time.monotonic()
    assert _wait(_start_ingest()) == 0
    full_run_s = time.monotonic() - started
    reference = _snapshot(reference_db)
    assert len(reference["bodies"]) == FEEDS and reference["seeds"] == 3
    assert len(reference["articles"]) == FEEDS * ITEMS_PER_FEED + 3

    rng = random.Random(20261122)
    moments = sorted(rng.uniform(0.0, full_run_s) for _ in range(KILLS))
    partial = 0
    for n, moment in enumerate(moments):
        db = _use(monkeypatch, root / f"kill{n}")
        pid = _start_ingest()
        time.sleep(moment)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        if not db.exists():
            continue  # killed before it opened the warehouse
        after_kill = _snapshot(db)
        _assert_whole_chunks(after_kill)
        partial += 0 < len(after_kill["bodies"]) < FEEDS
        killed_runs = [run_id for run_id, status, _ in after_kill["runs"] if status == "running"]

        assert _wait(_start_ingest()) == 0
        done = _snapshot(db)
        _assert_whole_chunks(done)
        assert done["articles"] == reference["articles"], f"kill at {moment:.2f}s: not the same articles"
        assert done["revisions"] == done["signatures"] == len(reference["articles"]), "duplicate rows"
        statuses = dict((run_id, status) for run_id, status, _ in done["runs"])
        assert all(statuses[run_id] == "abandoned" for run_id in killed_runs)
        assert list(statuses.values())[-1] == "success"
    assert partial >= 3, f"only {partial} of {KILLS} kills landed between chunks (full run {full_run_s:.2f}s)"
