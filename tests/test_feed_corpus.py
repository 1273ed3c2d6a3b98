"""Every real feed and every feedparser test document from ../shared/feeds, served over loopback HTTP and
ingested in one run: nothing crashes, every feed ends with items loaded or a recorded error, and the real
outlets' titles carry no mojibake. Skipped when ../shared is absent."""

from __future__ import annotations

import csv
import json
import re

import pytest
from pytest_httpserver import HTTPServer

from pipeline.feeds.health import feed_health
from pipeline.ingest import run_ingest
from pipeline.normalize import MOJIBAKE
from pipeline.store import Warehouse
from pipeline.store.connection import connect
from tests.conftest import shared_path

pytestmark = pytest.mark.shared


def _content_type(name: str, body: bytes) -> str:
    if name.endswith(".json") or body.lstrip()[:1] == b"{":
        return "application/feed+json"
    return "application/xml"


def test_whole_shared_corpus_ingests(settings, tmp_path, httpserver: HTTPServer):
    feeds_root = shared_path("feeds")
    documents: list[tuple[str, bytes, dict[str, str], bool]] = []
    for path in sorted((feeds_root / "real").rglob("*")):
        if path.is_file() and not path.name.startswith("LICENSE"):
            body = path.read_bytes()
            documents.append((f"real/{path.relative_to(feeds_root / 'real')}", body,
                              {"Content-Type": _content_type(path.name, body)}, True))
    with open(feeds_root / "feedparser" / "manifest.csv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            headers = json.loads(row["http_headers"]) if row["http_headers"] else {"Content-Type": "application/xml"}
            body = (feeds_root / "feedparser" / row["path"]).read_bytes()
            documents.append((f"feedparser/{row['path']}", body, headers, False))
    assert len(documents) >= 400

    lines = []
    for number, (name, body, headers, _) in enumerate(documents):
        url_path = f"/doc/{number}"
        httpserver.expect_request(url_path).respond_with_data(body, headers=headers)
        lines.append(f'[[feeds]]\nname = "{name}"\nurl = "{httpserver.url_for(url_path)}"\n')
    feeds_file = tmp_path / "corpus.toml"
    feeds_file.write_text("\n".join(lines), encoding="utf-8")

    summary = run_ingest(settings, feeds_file, include_seeds=False)

    assert summary.accounted
    assert summary.feeds_ok + summary.feeds_failed == len(documents)
    with connect(settings.db, read_only=True) as con:
        loaded = dict(con.execute("SELECT source_name, count(*) FROM articles GROUP BY 1").fetchall())
        quarantined = dict(con.execute(
            "SELECT replace(source_id, 'feed:', ''), count(*) FROM quarantine GROUP BY 1").fetchall())
        real_titles = con.execute("SELECT source_name, title FROM articles WHERE source_name LIKE 'real/%'").fetchall()
        health = {row["name"]: row for row in feed_health(Warehouse(con, settings.db))}
    unaccounted = [name for name, *_ in documents
                   if not loaded.get(name) and not quarantined.get(name) and not health[name]["last_error"]]
    assert unaccounted == []
    real_feeds = [name for name, _, _, real in documents if real]
    assert all(loaded.get(name, 0) > 0 for name in real_feeds), [n for n in real_feeds if not loaded.get(n)]
    mojibake = [(source, title) for source, title in real_titles if MOJIBAKE.search(title)]
    assert mojibake == []
    assert all(not re.search(r"<[a-z]+[^>]*>", title) for _, title in real_titles)
