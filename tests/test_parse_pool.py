"""Parsing on the process pool: the next chunk is parsed while the previous one commits, and every item is
loaded once, as when the bodies are parsed in-process."""

from __future__ import annotations

import dataclasses
import gc
import os
import pickle
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import msgspec
import pytest

from pipeline.feeds import parallel
from pipeline.feeds.landing import land
from pipeline.feeds.parallel import FeedParserPool, ParseJob, parse_job
from pipeline.ingest import chunk_plan, process
from pipeline.models import Relevance
from pipeline.settings import Settings

FETCHED = datetime(2026, 3, 4, 8, tzinfo=UTC)
TOPICS = ("Drones over an air base in Denmark", "NATO ministers meet in Brussels", "Baltic cable damaged",
          "Poland orders air defence systems", "EU agrees a sanctions package")


def _body(feed: int) -> bytes:
    entries = "".join(
        f"<item><title>{TOPICS[feed]}: report {n} from outlet {feed}</title>"
        f"<link>https://outlet{feed}.example/{n}</link><guid>outlet{feed}-{n}</guid>"
        f"<pubDate>Wed, 04 Mar 2026 0{n}:00:00 GMT</pubDate>"
        f"<description>Report {n} of outlet {feed} on {TOPICS[feed].lower()}.</description></item>"
        for n in range(3))
    return f'<rss version="2.0"><channel><title>Outlet {feed}</title>{entries}</channel></rss>'.encode()


def _land_feeds(settings: Settings) -> list[dict]:
    outcomes = []
    for feed in range(len(TOPICS)):
        ref = land(settings.landing_dir, source_id=f"feed:outlet-{feed}", feed_name=f"outlet-{feed}",
                   url=f"https://outlet{feed}.example/rss", body=_body(feed),
                   headers={"content-type": "application/rss+xml"}, status=200, fetched_at=FETCHED)
        outcomes.append({"source_id": ref.source_id, "feed_name": ref.feed_name, "url": ref.url, "new_url": None,
                         "status": 200, "outcome": "changed", "error": None, "etag": None, "last_modified": None,
                         "body_hash": ref.body_hash, "landing": ref.to_dict(), "headers": {},
                         "polled_at": FETCHED.isoformat(), "retry_after": None, "elapsed_s": 0.0})
    return outcomes


@pytest.fixture
def on_the_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "PARALLEL_MIN_BYTES", 0)  # these small bodies go to the pool too


def test_the_pool_parses_a_submitted_batch_as_in_process(settings: Settings, on_the_pool: None):
    jobs = [
        ParseJob(land(settings.landing_dir, source_id=f"feed:f{n}", feed_name=f"f{n}", url=f"https://f{n}.example",
                      body=_body(n), headers={}, status=200, fetched_at=FETCHED), None, FETCHED)
        for n in range(len(TOPICS))]
    with FeedParserPool(workers=2) as pool:
        collect = pool.submit(jobs)
        assert pool._pool is not None  # started now, not when collected
        on_pool = collect()
    in_process = [parse_job(job) for job in jobs]
    assert [[dataclasses.asdict(i) for i in p.items] for p in on_pool] == \
           [[dataclasses.asdict(i) for i in p.items] for p in in_process]
    assert sum(len(p.items) for p in on_pool) == 3 * len(TOPICS)


def _jobs(settings: Settings) -> list[ParseJob]:
    return [ParseJob(land(settings.landing_dir, source_id=f"feed:f{n}", feed_name=f"f{n}", url=f"https://f{n}.example",
                          body=_body(n), headers={}, status=200, fetched_at=FETCHED), None, FETCHED)
            for n in range(len(TOPICS))]


def test_a_spooled_batch_is_read_back_whole_and_its_file_removed(settings: Settings, tmp_path: Path):
    jobs = _jobs(settings)
    spooled = parallel.parse_jobs_packed(jobs, spool=str(tmp_path))
    assert isinstance(spooled, str) and Path(spooled).parent == tmp_path and Path(spooled).stat().st_size > 0
    crossed = parallel.unpack(spooled)
    assert not Path(spooled).exists()
    assert [[dataclasses.asdict(i) for i in p.items] for p in crossed] == \
           [[dataclasses.asdict(i) for i in p.items] for p in parallel.parse_jobs(jobs)]


def test_a_spool_that_cannot_be_written_falls_back_to_the_pipe(settings: Settings, tmp_path: Path):
    packed = parallel.parse_jobs_packed(_jobs(settings), spool=str(tmp_path / "gone"))
    assert isinstance(packed, bytes) and sum(len(p.items) for p in parallel.unpack(packed)) == 3 * len(TOPICS)


def test_the_pool_spools_its_results_privately_and_leaves_nothing_behind(settings: Settings, on_the_pool: None):
    jobs = _jobs(settings)
    with FeedParserPool(workers=2) as pool:
        collect = pool.submit(jobs)
        spool = Path(pool._spool)
        assert spool.is_dir() and oct(spool.stat().st_mode & 0o777) == "0o700"  # mkdtemp: this user's only
        assert sum(len(p.items) for p in collect()) == 3 * len(TOPICS)
        assert list(spool.iterdir()) == []  # each result's file is removed once read
        pool.submit(jobs)  # never collected, as when a run fails: the folder goes with the pool
        niceness = pool._pool.submit(os.nice, 0).result()
        young_threshold = pool._pool.submit(gc.get_threshold).result()[0]
    assert not spool.exists()
    assert niceness >= min(19, os.nice(0) + parallel.PARSER_NICENESS)  # the parsers give way to the main process
    assert young_threshold >= parallel.BULK_GC_THRESHOLD > gc.get_threshold()[0]  # and collect garbage in bulk


def test_the_spool_leaves_a_small_or_missing_shared_memory_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(parallel, "SPOOL_MIN_FREE_SHM", 0)
    roomy = Path(parallel._spool_folder(shared_memory=tmp_path))
    assert roomy.parent == tmp_path
    monkeypatch.setattr(parallel, "SPOOL_MIN_FREE_SHM", 1 << 62)  # more than any disk holds
    small = Path(parallel._spool_folder(shared_memory=tmp_path))
    missing = Path(parallel._spool_folder(shared_memory=tmp_path / "absent"))
    assert small.parent == missing.parent == Path(tempfile.gettempdir())
    for folder in (roomy, small, missing):
        folder.rmdir()


def test_chunks_parsed_while_the_previous_commits_load_every_item_once(settings: Settings, on_the_pool: None):
    chunked = settings.model_copy(update={"chunk_bodies": 2})  # five bodies: chunks of 2 and 1, then 1 and 1
    outcomes = _land_feeds(chunked)
    first = process(chunked, outcomes, include_seeds=False)
    assert (first.items_seen, first.loaded, first.duplicates) == (15, 15, 0)
    assert first.accounted
    again = process(chunked, outcomes, include_seeds=False, force=True)  # the same bodies parsed again
    assert again.loaded == 0 and again.items_seen == 15
    with duckdb.connect(str(Path(chunked.db)), read_only=True) as con:
        rows = con.execute("SELECT count(*), count(DISTINCT article_id) FROM articles").fetchall()[0]
    assert rows == (15, 15)


@pytest.mark.parametrize(("bodies", "size", "sizes"), [
    (10, 4, [4, 2, 2, 1, 1]), (16, 8, [8, 4, 2, 1, 1]), (1000, 400, [400, 200, 200, 100, 50, 50]),
    (2000, 400, [400, 400, 400, 400, 200, 100, 50, 50]), (4, 4, [4]), (0, 4, [0]), (3, 1, [1, 1, 1]),
    (5, 2, [2, 1, 1, 1]),
])
def test_a_run_is_chunked_with_its_last_chunk_in_pieces(bodies: int, size: int, sizes: list[int]):
    jobs = list(range(bodies))
    plan = chunk_plan(jobs, size)  # type: ignore[arg-type]
    assert [len(chunk) for chunk in plan] == sizes
    assert [job for chunk in plan for job in chunk] == jobs  # every body once, in order


def test_the_pool_classifies_what_it_parses_as_the_main_process_would(settings: Settings, on_the_pool: None):
    from pipeline.classify.classifier import get_classifier
    from pipeline.models import classified_text

    jobs = [
        ParseJob(land(settings.landing_dir, source_id=f"feed:f{n}", feed_name=f"f{n}", url=f"https://f{n}.example",
                      body=_body(n), headers={}, status=200, fetched_at=FETCHED), None, FETCHED)
        for n in range(len(TOPICS))]
    with FeedParserPool(workers=2, classify_with=(None, None)) as pool:
        on_pool = pool.parse(jobs)
    items = [item for parsed in on_pool for item in parsed.items]
    expected = get_classifier().classify_many([(i.title, classified_text(i.summary, i.body)) for i in items])
    assert [item.relevance for item in items] == expected
    assert any(verdict.label >= 1 for verdict in expected)
    # parsed in-process, nothing is classified: the caller classifies only what is new
    assert all(item.relevance is None for item in parse_job(jobs[0]).items)


def test_a_run_loads_the_verdicts_the_pool_computed(settings: Settings, on_the_pool: None,
                                                     monkeypatch: pytest.MonkeyPatch):
    from pipeline import chunk

    asked: list[object] = []  # the workers are other processes: this records the main process's calls only
    monkeypatch.setattr(chunk, "get_classifier", lambda *args: asked.append(args))
    summary = process(settings, _land_feeds(settings), include_seeds=False)  # one chunk of five bodies
    assert asked == []  # the main process had nothing left to classify
    with duckdb.connect(str(Path(settings.db)), read_only=True) as con:
        labelled = con.execute("SELECT count(*) FROM articles WHERE relevance_label >= 1 AND classifier_version "
                               "IS NOT NULL").fetchall()[0][0]
    assert labelled == summary.relevant > 0


def test_a_verdict_crosses_processes_whole():
    verdict = Relevance(score=0.93, label=2, topics=("nato", "air_defence"),
                        evidence=({"topic": "nato", "term": "nato", "where": "title", "count": 1, "weight": 2.0},),
                        version="taxonomy-x+model-y")
    # pickled as its constructor's arguments: every field, in order (a field added later must be added there)
    assert verdict.__reduce__()[1] == tuple(getattr(verdict, f.name) for f in dataclasses.fields(Relevance))
    assert pickle.loads(pickle.dumps(verdict, protocol=pickle.HIGHEST_PROTOCOL)) == verdict


def test_a_batch_crosses_from_a_worker_as_messagepack_with_every_field(settings: Settings):
    json_feed = (b'{"version": "https://jsonfeed.org/version/1.1", "title": "Outlet J", "items": [{"id": "j-1", '
                 b'"url": "https://j.example/1", "title": "Baltic states fortify their border with Russia", '
                 b'"content_html": "<p>Bunkers <b>first</b>.</p>", "date_published": "2026-03-04T09:30:00+02:00", '
                 b'"tags": ["defence", "baltics"]}]}')
    jobs = [ParseJob(land(settings.landing_dir, source_id="feed:j", feed_name="j", url="https://j.example/feed.json",
                          body=json_feed, headers={"content-type": "application/feed+json"}, status=200,
                          fetched_at=FETCHED), "en", FETCHED),
            ParseJob(land(settings.landing_dir, source_id="feed:f0", feed_name="f0", url="https://f0.example",
                          body=_body(0), headers={}, status=200, fetched_at=FETCHED), None, FETCHED)]
    packed = parallel.parse_jobs_packed(jobs, classify_with=(None, None))
    assert isinstance(packed, bytes)
    crossed, direct = parallel.unpack(packed), parallel.parse_jobs(jobs, classify_with=(None, None))
    # equal field by field: story features, verdicts, tags and the raw entry; an offset time is the same instant
    assert [[dataclasses.asdict(i) for i in p.items] for p in crossed] == \
           [[dataclasses.asdict(i) for i in p.items] for p in direct]
    item = crossed[0].items[0]
    assert item.published_at == datetime(2026, 3, 4, 7, 30, tzinfo=UTC) and item.tags == ["defence", "baltics"]
    assert isinstance(item.relevance, Relevance) and item.story_features
    assert msgspec.msgpack.decode(item.story_features)["vector"]
