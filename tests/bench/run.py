"""``make bench``: throughput per stage and end to end, against the physical limits, at several sizes.

Each size runs in its own process (so peak RSS is per size). Sizes come from NEWSWATCH_BENCH_SIZES
(comma list, default 10000,100000). Results go to warehouse/bench/latest.json and a table on stdout."""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pipeline.settings import PROJECT_ROOT

OUT = PROJECT_ROOT / "warehouse" / "bench" / "latest.json"
FLOOR_SAMPLE = 20_000  # items parsed by bare feedparser / lxml for the reference rates


def _peak_rss_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round(max(own, children) / 1024, 1)


def _rate(items: int, seconds: float) -> float:
    return round(items / seconds, 1) if seconds > 0 else float("inf")


@contextmanager
def scratch_dir(prefix: str) -> Iterator[Path]:
    """A temporary folder for one measurement, removed afterwards (a 100k run leaves ~300 MB, the 1M-article
    digest warehouse more); NEWSWATCH_BENCH_KEEP=1 keeps it for inspection and says where."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        if os.environ.get("NEWSWATCH_BENCH_KEEP") == "1":
            print(f"kept {path}", file=sys.stderr)
        else:
            shutil.rmtree(path, ignore_errors=True)


def land_corpus(size: int, workdir: Path, **overrides: Any) -> tuple[Any, list[dict[str, Any]], list[Any]]:
    """The bench corpus of ``size`` items landed as fetched bodies under ``workdir``: (settings, the poll
    outcomes `process` takes, the generated (feed, body, items) triples). ``overrides`` change the settings
    (e.g. a lake warehouse)."""
    from pipeline.feeds.landing import land
    from pipeline.settings import Settings
    from tests.bench.corpus import CorpusSpec, bodies

    generated = bodies(CorpusSpec(items=size))
    workdir.mkdir(parents=True, exist_ok=True)
    settings = Settings(**{"db": workdir / "bench.duckdb", "landing_dir": workdir / "landing",
                           "digest_dir": workdir / "digests",
                           "validation_dir": workdir / "validation", "feeds_file": workdir / "none.toml",
                           "seeds_dir": workdir / "no-seeds", "validation_max_error_rate": 1.0, **overrides})
    settings.feeds_file.write_text("# the bench's feeds are landed directly\n", encoding="utf-8")
    fetched_at = datetime.now(UTC)
    outcomes = []
    for feed_no, body, _ in generated:
        ref = land(settings.landing_dir, source_id=f"feed:bench-{feed_no}", feed_name=f"bench-{feed_no}",
                   url=f"https://feed{feed_no}.example/rss", body=body,
                   headers={"content-type": "application/rss+xml; charset=utf-8"}, status=200, fetched_at=fetched_at)
        outcomes.append({"source_id": ref.source_id, "feed_name": ref.feed_name, "url": ref.url, "new_url": None,
                         "status": 200, "outcome": "changed", "error": None, "etag": None, "last_modified": None,
                         "body_hash": ref.body_hash, "landing": ref.to_dict(), "headers": {},
                         "polled_at": fetched_at.isoformat(), "retry_after": None, "elapsed_s": 0.0})
    return settings, outcomes, generated


def run_size(size: int) -> dict[str, Any]:
    with scratch_dir(f"newswatch-bench-{size}-") as workdir:
        return _run_size_in(size, workdir)


def _run_size_in(size: int, workdir: Path) -> dict[str, Any]:
    import feedparser
    import pyarrow as pa
    from lxml import etree

    from pipeline.digest.build import build_digest
    from pipeline.ingest import process
    from pipeline.store.connection import connect
    from pipeline.store.warehouse import Warehouse

    settings, outcomes, generated = land_corpus(size, workdir)

    sample, sample_items = [], 0
    for _, body, count in generated:
        if sample_items >= FLOOR_SAMPLE:
            break
        sample.append(body)
        sample_items += count
    started = time.perf_counter()
    floor_items = sum(len(feedparser.parse(body).entries) for body in sample)
    floor_rate = _rate(floor_items, time.perf_counter() - started)
    started = time.perf_counter()
    lxml_items = 0
    for body in sample:
        for item in etree.fromstring(body).iter("item"):
            item.findtext("title"), item.findtext("link"), item.findtext("description"), item.findtext("pubDate")
            lxml_items += 1
    lxml_rate = _rate(lxml_items, time.perf_counter() - started)

    started = time.perf_counter()
    summary = process(settings, outcomes, include_seeds=False)
    end_to_end = time.perf_counter() - started
    assert summary.accounted, summary.to_dict()

    started = time.perf_counter()
    again = process(settings, outcomes, include_seeds=False)
    replay_seconds = time.perf_counter() - started
    assert again.items_seen == 0

    with connect(settings.db, read_only=True) as con:
        # the digest day the load gave the articles: the corpus is dated weeks before this run ingests it, so
        # they belong to the day they arrived (digest_day_of), and their publication day's digest is empty
        last_day = con.execute("SELECT max(digest_day) FROM articles").fetchall()[0][0]
        started = time.perf_counter()
        digest = build_digest(Warehouse(con, settings.db), last_day, datetime.now(UTC))
        digest_seconds = time.perf_counter() - started
        rows = con.sql("SELECT * FROM articles").to_arrow_table()
    limit_db = workdir / "arrow-limit.duckdb"
    with connect(limit_db) as con:
        con.execute("CREATE TABLE copy AS SELECT * FROM articles WHERE false")
        table = pa.Table.from_batches(rows.to_batches())
        con.register("arrow_rows", table)
        started = time.perf_counter()
        con.execute("INSERT INTO copy SELECT * FROM arrow_rows")
        arrow_insert = time.perf_counter() - started

    stages = dict(summary.stage_seconds)
    return {
        "items": size,
        "end_to_end_s": round(end_to_end, 3),
        "end_to_end_items_per_s": _rate(size, end_to_end),
        "feedparser_floor_items_per_s": floor_rate,
        "lxml_limit_items_per_s": lxml_rate,
        "end_to_end_vs_feedparser": round(_rate(size, end_to_end) / floor_rate, 3),
        "load_vs_arrow_insert": round(stages.get("load", 0.0) / max(arrow_insert, 1e-9), 1),
        # the run waits for the pool only where parsing is not overlapped with the previous chunk's processing
        "parse_items_per_s": _rate(size, stages.get("parse", 0.0)),
        "parse_vs_feedparser_floor": round(_rate(size, stages.get("parse", 0.0)) / floor_rate, 3),
        "replay_unchanged_items_per_s": _rate(size, replay_seconds),
        "stages": stages,
        "stage_share": {k: round(v / end_to_end, 3) for k, v in stages.items()},
        "validate_share": round(stages.get("validate", 0.0) / end_to_end, 3),
        "load_s": stages.get("load", 0.0),
        "arrow_insert_limit_s": round(arrow_insert, 3),
        "dedup_us_per_item": round(stages.get("dedup", 0.0) / size * 1e6, 1),
        "digest_query_s": round(digest_seconds, 3),
        "digest_relevant_stories": digest.relevant_story_count,
        "counts": {k: summary.to_dict()[k] for k in ("items_seen", "loaded", "duplicates", "quarantined", "relevant")},
        "peak_rss_mb": _peak_rss_mb(),
    }


def dedup_curve(size: int, step: int, run_size: int = 10_000) -> dict[str, Any]:
    """Per-item cost of story assignment (layers 1 and 2) as the stream grows to ``size`` items, processed as
    the ingest runs do: in runs of ``run_size`` items, each building its index from the rolling window."""
    from pipeline.dedup import KnownArticle, SameArticleIndex, assign_stories
    from pipeline.models import Item
    from pipeline.normalize import canonical_url, content_hash, html_to_text
    from pipeline.stories import STORY_MAX_GAP, WINDOW, StoryIndex
    from tests.bench.corpus import CorpusSpec, generate_entries

    entries = generate_entries(CorpusSpec(items=size))
    window: list[tuple[Any, KnownArticle]] = []  # what the warehouse keeps: story features of the last 7 days
    curve: list[dict[str, Any]] = []
    spent, counted = 0.0, 0
    for start in range(0, size, run_size):
        batch = entries[start:start + run_size]
        items = []
        for entry in batch:
            text = html_to_text(entry.summary_html)
            items.append(Item(article_id=entry.guid, source_kind="feed", source_id="feed:bench", source_name="bench",
                              title=entry.title, summary=text, body=text, content_hash=content_hash(entry.title, text),
                              published_at=entry.published, published_precision="second", url=entry.link,
                              canonical_url=canonical_url(entry.link), language="en"))
        cutoff = batch[0].published - WINDOW
        window = [(doc, known) for doc, known in window if doc.seen_at >= cutoff]
        started = time.perf_counter()
        index = StoryIndex((doc for doc, _ in window), lsh_from=batch[0].published - STORY_MAX_GAP - timedelta(days=1))
        known = SameArticleIndex(k for _, k in window)
        _, docs = assign_stories(items, known, index, batch[-1].published)
        spent += time.perf_counter() - started
        counted += len(items)
        window.extend((doc, KnownArticle(doc.article_id, doc.story_id, item.content_hash, item.canonical_url))
                      for doc, item in zip(docs, items, strict=True))
        if counted >= step or start + run_size >= size:
            curve.append({"items": start + len(batch), "us_per_item": round(spent / counted * 1e6, 1),
                          "window_docs": len(window), "peak_rss_mb": _peak_rss_mb()})
            spent, counted = 0.0, 0
    return {"items": size, "run_size": run_size, "curve": curve, "peak_rss_mb": _peak_rss_mb()}


def digest_at_scale(articles: int = 1_000_000, per_day: int = 5000) -> dict[str, Any]:
    """Time the digest query on a warehouse of ``articles`` rows (generated in SQL, ``per_day`` a day)."""
    with scratch_dir("newswatch-digest-") as folder:
        return _digest_at_scale_in(folder / "digest.duckdb", articles, per_day)


def _digest_at_scale_in(db: Path, articles: int, per_day: int) -> dict[str, Any]:
    from pipeline.digest.build import build_digest
    from pipeline.importance import ImportanceWeights
    from pipeline.store.connection import connect
    from pipeline.store.warehouse import Warehouse

    topics = "['nato', 'eu_defence', 'ukraine_war', 'russia_threat', 'us_europe']"
    with connect(db) as con:
        con.execute(f"""
            INSERT INTO articles (article_id, source_kind, source_id, source_name, title, summary, published_at,
                published_precision, ingested_at, last_seen_at, content_hash, relevance_score, relevance_label,
                topics, evidence, story_id, duplicate_of, digest_day)
            SELECT 'a' || i, 'feed', 'feed:f' || (i % 300), 'Feed ' || (i % 300), 'Title ' || i, 'Summary ' || i,
                   TIMESTAMPTZ '2025-01-01 00:00:00+00' + to_seconds(i * 86400.0 / {per_day}), 'second',
                   TIMESTAMPTZ '2025-01-01 00:00:00+00' + to_seconds(i * 86400.0 / {per_day}),
                   TIMESTAMPTZ '2025-01-01 00:00:00+00' + to_seconds(i * 86400.0 / {per_day}), 'h' || i,
                   (i % 97) / 97.0, CASE WHEN i % 10 = 0 THEN 2 WHEN i % 4 = 0 THEN 1 ELSE 0 END,
                   [{topics}[1 + i % 5]], '[]', 's' || (i // 3),
                   CASE WHEN i % 3 = 0 THEN NULL ELSE 'a' || (i - i % 3) END,
                   CAST(DATE '2025-01-01' + CAST(floor(i / {per_day}) AS INTEGER) AS DATE)
            FROM range({articles}) t(i)""")
        story_ids = [r[0] for r in con.execute("SELECT DISTINCT story_id FROM articles").fetchall()]
        Warehouse(con, db).stories.refresh(story_ids, ImportanceWeights().stored_sql("a"))  # as the load does
        last_day = con.execute(
            "SELECT max(CAST(published_at AT TIME ZONE 'UTC' AS DATE)) FROM articles").fetchall()[0][0]
        started = time.perf_counter()
        build_digest(Warehouse(con, db), last_day, datetime.now(UTC))
        cold = time.perf_counter() - started  # includes the lazy imports of a fresh process
        started = time.perf_counter()
        digest = build_digest(Warehouse(con, db), last_day, datetime.now(UTC))
        seconds = time.perf_counter() - started
    return {"articles": articles, "digest_query_s": round(seconds, 3), "digest_query_cold_s": round(cold, 3),
            "relevant_stories": digest.relevant_story_count}


def poll_cycle_cpu(feeds: int = 500) -> dict[str, Any]:
    """CPU seconds of one poll cycle over ``feeds`` feeds that all answer 304 (server in another process)."""
    with scratch_dir("newswatch-poll-") as landing:
        return _poll_cycle_cpu_in(landing, feeds)


def _poll_cycle_cpu_in(landing: Path, feeds: int) -> dict[str, Any]:
    from pipeline.feeds.config import FeedConfig
    from pipeline.feeds.poll import FeedState, poll_feeds
    from pipeline.settings import Settings

    server = subprocess.Popen([sys.executable, "-m", "tests.bench.not_modified_server"], stdout=subprocess.PIPE,
                              text=True, cwd=PROJECT_ROOT)
    try:
        port = int(server.stdout.readline().strip())  # type: ignore[union-attr]
        configs = [FeedConfig(f"f{n}", f"http://127.0.0.1:{port}/feed/{n}.xml") for n in range(feeds)]
        states = {c.source_id: FeedState(url=c.url, etag='"same"', last_body_hash="x") for c in configs}
        settings = Settings(landing_dir=landing, fetch_per_host_limit=8, fetch_concurrency=8)
        cpu, wall = time.process_time(), time.perf_counter()
        outcomes = poll_feeds(configs, states, settings)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        server.terminate()
    not_modified = sum(1 for o in outcomes if o.outcome == "not_modified")
    return {"feeds": feeds, "not_modified": not_modified, "cpu_s": round(cpu, 3), "wall_s": round(wall, 3)}


SMALL_RUN_TARGET_S = 3.0  # issue 18: a small ingest with nothing to validate, imports included


def small_runs() -> dict[str, Any]:
    """Wall seconds of ``newswatch ingest`` in a fresh process, as a user runs it: first on two seed documents the
    warehouse has not seen (validated and loaded), then again with nothing new (nothing to validate or load)."""
    with scratch_dir("newswatch-small-") as workdir:
        seeds = workdir / "seeds"
        seeds.mkdir()
        for seed in sorted((PROJECT_ROOT / "seeds").glob("*.txt"))[:2]:
            shutil.copy(seed, seeds / seed.name)
        feeds = workdir / "feeds.toml"
        feeds.write_text("", encoding="utf-8")  # no feeds: the run is the seeds alone
        env = {**os.environ, "NEWSWATCH_DB": str(workdir / "small.duckdb"), "NEWSWATCH_SEEDS_DIR": str(seeds),
               "NEWSWATCH_FEEDS_FILE": str(feeds), "NEWSWATCH_LANDING_DIR": str(workdir / "landing"),
               "NEWSWATCH_VALIDATION_DIR": str(workdir / "validation")}
        walls, summaries = [], []
        for _ in range(2):
            started = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "pipeline.cli", "ingest", "--json"], cwd=PROJECT_ROOT,
                                  env=env, capture_output=True, text=True, check=True)
            walls.append(round(time.perf_counter() - started, 3))
            summaries.append(json.loads(done.stdout))
    return {"new_items": summaries[0]["loaded"], "new_wall_s": walls[0], "nothing_new_items": summaries[1]["loaded"],
            "nothing_new_wall_s": walls[1], "target_s": SMALL_RUN_TARGET_S,
            "meets_target": walls[1] <= SMALL_RUN_TARGET_S}


CLASSIFY_TARGET_PER_S = 5000  # issue 12: the whole classify stage on one core


def classify_throughput(items: int = 20_000) -> dict[str, Any]:
    """Items/s of the whole classify stage (rules, features, model, evidence) in one process, one BLAS thread."""
    from threadpoolctl import threadpool_limits

    from pipeline.classify.classifier import get_classifier
    from tests.bench.corpus import headline_texts

    texts = headline_texts(items)
    classifier = get_classifier()
    classifier.classify_many(headline_texts(2000, seed=99))  # load taxonomy, model, embedding; warm vocabulary
    with threadpool_limits(limits=1):
        started = time.perf_counter()
        for start in range(0, len(texts), 2000):
            classifier.classify_many(texts[start:start + 2000])
        seconds = time.perf_counter() - started
    rate = _rate(items, seconds)
    return {"items": items, "seconds": round(seconds, 3), "items_per_s": rate, "target_items_per_s":
            CLASSIFY_TARGET_PER_S, "meets_target": rate >= CLASSIFY_TARGET_PER_S}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--classify":
        print(json.dumps(classify_throughput()))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--small":
        print(json.dumps(small_runs()))
        return
    if len(sys.argv) > 2 and sys.argv[1] == "--size":
        print(json.dumps(run_size(int(sys.argv[2]))))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--digest-scale":
        print(json.dumps(digest_at_scale()))
        return
    if len(sys.argv) > 2 and sys.argv[1] == "--lake-load":
        from tests.bench.scaleout import lake_load

        print(json.dumps(lake_load(int(sys.argv[2]))))
        return
    if len(sys.argv) > 2 and sys.argv[1] == "--cluster-ingest":
        from tests.bench.scaleout import cluster_ingest

        print(json.dumps(cluster_ingest(int(sys.argv[2]))))
        return
    if len(sys.argv) > 2 and sys.argv[1] == "--dedup-curve":
        print(json.dumps(dedup_curve(int(sys.argv[2]), int(sys.argv[3]))))
        return
    sizes = [int(s) for s in os.environ.get("NEWSWATCH_BENCH_SIZES", "10000,100000").split(",") if s.strip()]
    runs = []
    for size in sizes:
        result = subprocess.run([sys.executable, "-m", "tests.bench.run", "--size", str(size)], cwd=PROJECT_ROOT,
                                capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise SystemExit(f"size {size} failed:\n{result.stderr[-3000:]}")
        runs.append(json.loads(result.stdout.strip().splitlines()[-1]))
        _print_run(runs[-1])
    curve_size = int(os.environ.get("NEWSWATCH_BENCH_DEDUP_ITEMS", str(max(sizes))))
    curve = subprocess.run([sys.executable, "-m", "tests.bench.run", "--dedup-curve", str(curve_size),
                            str(max(1000, curve_size // 10))], cwd=PROJECT_ROOT, capture_output=True, text=True,
                           check=True)
    dedup = json.loads(curve.stdout.strip().splitlines()[-1])
    poll = poll_cycle_cpu()
    digest_scale = digest_at_scale()
    classify = classify_throughput()
    small = small_runs()
    report = {"generated_at": datetime.now(UTC).isoformat(), "machine": {"cpus": os.cpu_count()},
              "runs": runs, "dedup_curve": dedup, "poll_500_unchanged": poll, "digest_1m": digest_scale,
              "classify_one_core": classify, "small_runs": small}
    if os.environ.get("NEWSWATCH_BENCH_SCALEOUT", "1") != "0":
        report["scaleout"] = _scaleout()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2), encoding="utf-8")
    points = ", ".join(f"{p['items']}: {p['us_per_item']}" for p in dedup["curve"])
    print(f"\ndedup per item (us) as the stream grows: {points} | peak RSS {dedup['peak_rss_mb']} MB")
    print(f"poll cycle of {poll['feeds']} unchanged feeds (304): {poll['cpu_s']} s CPU, {poll['wall_s']} s wall")
    print(f"digest query on {digest_scale['articles']} articles: {digest_scale['digest_query_s']} s "
          f"(first call in a fresh process {digest_scale['digest_query_cold_s']} s) "
          f"for {digest_scale['relevant_stories']} relevant stories that day")
    print(f"classify stage on one core: {classify['items_per_s']} items/s (target {CLASSIFY_TARGET_PER_S}, "
          f"{'met' if classify['meets_target'] else 'NOT met'})")
    print(f"newswatch ingest in a fresh process: {small['new_items']} new seed items {small['new_wall_s']} s; "
          f"nothing new {small['nothing_new_wall_s']} s (target {SMALL_RUN_TARGET_S} s, "
          f"{'met' if small['meets_target'] else 'NOT met'})")
    if report.get("scaleout"):
        _print_scaleout(report["scaleout"])
    print(f"written to {OUT}")


def _scaleout() -> dict[str, Any] | None:
    """Issue 16's figures, each in its own process: the lake's load vs the file's, and the cluster's ingest with
    1 and 2 Celery workers (None where PostgreSQL/Redis are not installed)."""
    figures = {}
    for name, args in (("lake_load", ["--lake-load", "10000"]), ("cluster_1_worker", ["--cluster-ingest", "1"]),
                       ("cluster_2_workers", ["--cluster-ingest", "2"])):
        result = subprocess.run([sys.executable, "-m", "tests.bench.run", *args], cwd=PROJECT_ROOT,
                                capture_output=True, text=True, check=True)
        figures[name] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures if all(figures.values()) else None


def _print_scaleout(scaleout: dict[str, Any]) -> None:
    lake = scaleout["lake_load"]
    print(f"load of {lake['items']} items, rows/s: DuckDB file {lake['duckdb_file']['load_rows_per_s']}, DuckLake "
          f"(PostgreSQL catalog) on S3 {lake['ducklake_s3']['load_rows_per_s']} "
          f"(x{lake['ducklake_s3']['load_vs_file']}), on a folder {lake['ducklake_folder']['load_rows_per_s']} "
          f"(x{lake['ducklake_folder']['load_vs_file']})")
    one, two = scaleout["cluster_1_worker"], scaleout["cluster_2_workers"]
    print(f"cluster ingest of {one['feeds']} feeds / {one['items']} items: 1 worker {one['wall_s']} s, "
          f"2 workers {two['wall_s']} s (loaded {one['loaded']} / {two['loaded']})")


def _print_run(run: dict[str, Any]) -> None:
    print(f"\n== {run['items']} items: end to end {run['end_to_end_items_per_s']} items/s ({run['end_to_end_s']} s), "
          f"peak RSS {run['peak_rss_mb']} MB")
    print(f"   end to end x{run['end_to_end_vs_feedparser']} of bare feedparser on one core "
          f"({run['feedparser_floor_items_per_s']} items/s); load x{run['load_vs_arrow_insert']} of a plain Arrow "
          f"insert; raw lxml {run['lxml_limit_items_per_s']} items/s")
    print(f"   parse wait {run['parse_items_per_s']} items/s (the pool parses the next chunk while one commits: "
          f"only the first chunk and any lag are waited for)")
    print(f"   replay of unchanged bodies {run['replay_unchanged_items_per_s']} items/s; digest query "
          f"{run['digest_query_s']} s; load {run['load_s']} s vs Arrow insert {run['arrow_insert_limit_s']} s")
    print("   stage shares: " + ", ".join(f"{k} {v:.0%}" for k, v in run["stage_share"].items()))


if __name__ == "__main__":
    main()
