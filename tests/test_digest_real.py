"""The morning brief on real news: the 42 real feeds of ../shared/feeds/real served over loopback, ingested
with the seeds, and the day's digest built. The most-covered relevant story and the most-covered core story
lead (top 3), every top story lists its members, no story appears twice, and no seed shows a file name."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from pytest_httpserver import HTTPServer

from pipeline.digest.archive import make_digest
from pipeline.digest.build import build_digest
from pipeline.ingest import run_ingest
from pipeline.settings import PROJECT_ROOT, get_settings
from pipeline.store import open_warehouse
from tests.conftest import shared_path
from tests.test_feed_corpus import _content_type

pytestmark = pytest.mark.shared


def test_real_feeds_digest_leads_with_the_most_covered_stories(settings, tmp_path, httpserver: HTTPServer,
                                                                 monkeypatch):
    real = shared_path("feeds", "real")
    lines = []
    for number, path in enumerate(sorted(p for p in real.rglob("*") if p.is_file() and "LICENSE" not in p.name)):
        body = path.read_bytes()
        httpserver.expect_request(f"/feed/{number}").respond_with_data(
            body, headers={"Content-Type": _content_type(path.name, body)})
        url = httpserver.url_for(f"/feed/{number}")
        lines.append(f'[[feeds]]\nname = "{path.stem.split("__")[0]}"\nurl = "{url}"\n')
    assert len(lines) == 42
    feeds_file = tmp_path / "real.toml"
    feeds_file.write_text("\n".join(lines), encoding="utf-8")
    monkeypatch.setenv("NEWSWATCH_SEEDS_DIR", str(PROJECT_ROOT / "seeds"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    get_settings.cache_clear()

    summary = run_ingest(get_settings(), feeds_file)
    assert summary.accounted and summary.relevant > 0
    day = summary_day(summary)
    archived = make_digest(get_settings(), day)
    top = archived.to_dict()["top_stories"]
    html = archived.html_path.read_text(encoding="utf-8")
    with open_warehouse(get_settings()) as wh:  # every relevant story of the day, not only the top ones
        stories = build_digest(wh, day, datetime.now(UTC)).stories

    most_relevant = max(s.outlet_count for s in stories)
    assert any(len(s["outlets"]) == most_relevant for s in top[:3]), [(s["headline"], s["outlets"]) for s in top[:5]]
    core = [s for s in stories if s.label == 2]
    assert core, "no core story in a day of real news"
    most_core = max(s.outlet_count for s in core)
    assert any(s["label"] == 2 and len(s["outlets"]) == most_core for s in top[:3])
    assert all(s["members"] for s in top)
    ids = [s["story_id"] for s in top]
    assert len(ids) == len(set(ids))
    assert not re.search(r"\d{3}_[0-9a-f]{16}\.txt", html), "a seed shows its file name"


def summary_day(summary):  # the run's day: every real item older than two days lands on the day it was seen
    return datetime.strptime(summary.run_id.split("-")[1][:8], "%Y%m%d").date()
