"""The Great Expectations gate: every expectation passes a good row and catches a bad one; quarantine keeps
the item and the reasons; every item is accounted for; a bad batch is quarantined whole; replay after a fix."""

from __future__ import annotations

import json
import os
import signal
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli import main
from pipeline.ingest import process, replay_quarantine
from pipeline.models import Item, Relevance
from pipeline.normalize import article_id, content_hash
from pipeline.settings import get_settings
from pipeline.store.connection import connect
from pipeline.validate import expectation_specs, validate_items

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def make_item(n: int = 1, **changes) -> Item:
    title = changes.pop("title", f"NATO allies meet in Brussels to agree air defence plan {n}")
    summary = changes.pop("summary", "Defence ministers of the alliance met on Thursday.")
    item = Item(
        article_id=article_id("feed:Test", f"guid-{n}"), source_kind="feed", source_id="feed:Test",
        source_name="Test Outlet", title=title, summary=summary, body=summary,
        content_hash=content_hash(title, summary), published_at=NOW - timedelta(hours=n),
        published_precision="second", url=f"https://test.example/news/{n}", guid=f"guid-{n}", language="en")
    return replace(item, **changes)


GOOD = Relevance(0.9, 2, ("nato",), ({"topic": "nato", "term": "nato"},), "test")

BAD_ROWS = {
    "title_or_summary_present": {"title": "", "summary": "", "body": ""},
    "url_or_guid_present": {"url": None, "guid": None},
    "url_scheme_http": {"url": "javascript:alert(1)"},
    "published_at_in_range": {"published_at": datetime(1970, 1, 1, tzinfo=UTC)},
    "title_length_max": {"title": "x" * 1001},
    "body_length_max": {"body": "x" * 2_000_001},
    "title_no_control_characters": {"title": "NATO\x07 summit"},
    "summary_no_control_characters": {"summary": "bad\x00byte"},
    "body_no_control_characters": {"body": "bad\x1bescape"},
    "title_not_outlet_name": {"title": "Test Outlet"},
    "title_no_mojibake": {"title": "Trumpâ€™s NATO plan"},
    "summary_no_mojibake": {"summary": "SÃ©curitÃ© europÃ©enne"},
    "language_code_valid": {"language": "english"},
    "title_min_length": {"title": "EU"},
    "url_points_to_an_article": {"url": "https://test.example/"},
    "date_known": {"flags": ["date_missing_fetch_time_used"]},
    "source_readable": {"flags": ["source_unreadable"]},
}
BAD_RELEVANCE = {
    "relevance_score_in_unit_interval": Relevance(1.5, 2, (), (), "test"),
    "relevance_label_known": Relevance(0.5, 7, (), (), "test"),
}


def test_every_expectation_has_a_failing_case():
    names = {spec[0] for spec in expectation_specs(NOW)}
    assert names == set(BAD_ROWS) | set(BAD_RELEVANCE) | {"ids_unique_in_batch"}


@pytest.mark.parametrize("expectation", sorted(BAD_ROWS))
def test_expectation_catches_its_bad_row_and_passes_a_good_one(expectation):
    good, bad = make_item(1), make_item(2, **BAD_ROWS[expectation])
    report = validate_items([good, bad], {good.article_id: GOOD, bad.article_id: GOOD}, NOW)
    assert report.failures.get(0, []) == []
    assert expectation in {f.expectation for f in report.failures[1]}


@pytest.mark.parametrize("expectation", sorted(BAD_RELEVANCE))
def test_relevance_expectations(expectation):
    good, bad = make_item(1), make_item(2)
    report = validate_items([good, bad], {good.article_id: GOOD, bad.article_id: BAD_RELEVANCE[expectation]}, NOW)
    assert 0 not in report.failures
    assert [f.expectation for f in report.errors(1)] == [expectation]


def test_a_forked_run_killed_inside_a_validation_cannot_wedge_the_others():
    """GX opens a tqdm bar in every validation. tqdm's default lock included a semaphore shared with every forked
    process; a fork SIGKILLed while holding it left this process waiting forever at its next validation."""
    from great_expectations.validator import validation_graph

    first = make_item(1)
    validate_items([first], {first.article_id: GOOD}, NOW)  # GX imported and its bars' lock made, as in a run
    pid = os.fork()
    if pid == 0:  # the child dies holding the lock, as a run killed mid-validation does
        validation_graph.tqdm.get_lock().acquire()
        os.kill(os.getpid(), signal.SIGKILL)
    os.waitpid(pid, 0)
    lock = validation_graph.tqdm.get_lock()
    assert lock.acquire(timeout=5), "the killed child's hold on the progress-bar lock reached this process"
    lock.release()
    second = make_item(2)
    report = validate_items([second], {second.article_id: GOOD}, NOW)  # and validation runs on
    assert report.rows_checked == 1 and not report.errors(0)


def test_ids_unique_in_batch():
    one, same_id_other_story = make_item(1), make_item(1, title="A different story reusing the same guid")
    report = validate_items([one, same_id_other_story, make_item(2)], {one.article_id: GOOD,
                            make_item(2).article_id: GOOD}, NOW)
    assert {f.expectation for f in report.errors(0)} == {"ids_unique_in_batch"}
    assert 2 not in report.failures


def test_severity_decides_quarantine_or_flag(settings):
    items = [make_item(1), make_item(2, title="Test Outlet"), make_item(3, language="english")]
    summary = _process_items(settings, items)
    assert (summary.items_seen, summary.loaded, summary.quarantined) == (3, 2, 1)
    with connect(settings.db, read_only=True) as con:
        flags = dict(con.execute("SELECT guid, flags FROM articles").fetchall())
        quarantined = con.execute("SELECT item, reasons FROM quarantine").fetchall()
        stored = con.execute("SELECT success, rows_checked, rows_failed, results FROM validation_runs").fetchall()
    assert "warn:language_code_valid" in flags["guid-3"]
    item, reasons = json.loads(quarantined[0][0]), json.loads(quarantined[0][1])
    assert item["guid"] == "guid-2" and item["title"] == "Test Outlet"
    assert reasons == [{"expectation": "title_not_outlet_name", "column": "title_is_outlet_name",
                        "value": True, "severity": "error"}]
    success, checked, failed, results = stored[0]
    assert (success, checked, failed) == (False, 3, 1)
    counts = {r["expectation"]: r["unexpected_count"] for r in json.loads(results)}
    assert counts["title_not_outlet_name"] == 1 and counts["language_code_valid"] == 1


def _process_items(settings, items):
    """Run a batch of already-normalised items through the same path as ingest (via seeds-free process)."""
    from pipeline import ingest as ingest_module

    original = ingest_module.load_seeds
    ingest_module.load_seeds = lambda _dir: list(items)
    try:
        return process(settings, [], include_seeds=True)
    finally:
        ingest_module.load_seeds = original


def test_every_item_is_accounted_for(settings):
    items = [make_item(1), make_item(1), make_item(2, url="ftp://x"), make_item(3)]
    first = _process_items(settings, items)
    second = _process_items(settings, items)
    edited = make_item(3, title="NATO allies meet: timeline agreed")
    third = _process_items(settings, [edited, make_item(3, title="Same guid, another story entirely")])
    fourth = _process_items(settings, [edited])
    for summary in (first, second, third, fourth):
        assert summary.items_seen == summary.loaded + summary.updated + summary.duplicates + summary.quarantined
    assert (first.loaded, first.duplicates, first.quarantined) == (2, 1, 1)
    assert (second.loaded, second.updated, second.duplicates, second.quarantined) == (0, 0, 3, 1)
    assert (third.updated, third.quarantined) == (0, 2)  # one guid, two different stories: both held back
    assert (fourth.updated, fourth.quarantined) == (1, 0)
    with connect(settings.db, read_only=True) as con:
        assert con.execute("SELECT bool_and(accounted) FROM v_run_summary").fetchall()[0][0] is True


def test_batch_over_the_error_rate_is_quarantined_whole_and_fails_strict_cli(settings, tmp_path, httpserver):
    entries = "".join(
        f"<item><title>{'Test Outlet' if n < 4 else f'NATO item {n} about the alliance'}</title>"
        f"<link>https://test.example/{n}</link><guid>g{n}</guid></item>" for n in range(6))
    body = f'<rss version="2.0"><channel><title>Test Outlet</title>{entries}</channel></rss>'
    httpserver.expect_request("/bad.xml").respond_with_data(body, content_type="text/xml")
    feeds = tmp_path / "feeds.toml"
    feeds.write_text(f'[[feeds]]\nname = "Test Outlet"\nurl = "{httpserver.url_for("/bad.xml")}"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["ingest", "--json", "--no-seeds", "--strict", "--feeds", str(feeds)])
    assert result.exit_code == 3, result.output
    summary = json.loads(result.output)
    assert summary["quarantined"] == 6 and summary["loaded"] == 0
    assert summary["gate_failures"] == [{"source_id": "feed:Test Outlet", "rows": 6, "failed": 4,
                                         "error_rate": 0.667}]
    listed = CliRunner().invoke(main, ["quarantine", "list", "--json"])
    rows = [json.loads(line) for line in listed.output.splitlines()]
    assert len(rows) == 6 and all("batch_error_rate" in {r["expectation"] for r in row["reasons"]} for row in rows)


def test_quarantine_show_and_replay_after_relaxing_a_rule(settings, monkeypatch):
    _process_items(settings, [make_item(1), make_item(2, title="Test Outlet")])
    runner = CliRunner()
    rows = [json.loads(line) for line in runner.invoke(main, ["quarantine", "list", "--json"]).output.splitlines()]
    assert [r["reasons"][0]["expectation"] for r in rows] == ["title_not_outlet_name"]
    shown = json.loads(runner.invoke(main, ["quarantine", "show", rows[0]["id"]]).output)
    assert shown["item"]["guid"] == "guid-2" and shown["status"] == "open"
    assert runner.invoke(main, ["quarantine", "show", "nope"]).exit_code != 0

    still = replay_quarantine(get_settings())
    assert (still.items_seen, still.loaded, still.quarantined) == (1, 0, 1)
    monkeypatch.setenv("NEWSWATCH_VALIDATION_WARN_ONLY", "title_not_outlet_name")
    get_settings.cache_clear()
    fixed = json.loads(runner.invoke(main, ["quarantine", "replay", "--json"]).output)
    assert (fixed["items_seen"], fixed["loaded"], fixed["quarantined"]) == (1, 1, 0)
    assert runner.invoke(main, ["quarantine", "list", "--json"]).output.strip() == ""
    with connect(get_settings().db, read_only=True) as con:
        assert con.execute("SELECT status FROM quarantine").fetchall() == [("released",)]
        assert con.execute("SELECT count(*) FROM articles").fetchall()[0][0] == 2


def test_digest_data_quality_section_shows_validation_and_quarantine(settings):
    from pipeline.digest.archive import make_digest

    _process_items(settings, [make_item(1), make_item(2, title="Test Outlet"), make_item(3, language="english")])
    today = datetime.now(UTC).date()
    text = make_digest(get_settings(), today).text_path.read_text(encoding="utf-8")
    assert "1 quarantined today" in text
    assert "title_not_outlet_name 1 (error)" in text and "language_code_valid 1 (warning)" in text


def test_every_validation_run_leaves_a_data_docs_page_linked_from_the_digest(settings):
    from pipeline.digest.archive import make_digest

    summary = _process_items(settings, [make_item(1), make_item(2, title="Test Outlet")])
    pages = [Path(p) for p in summary.validation_reports]
    assert len(pages) == 1 and pages[0].parent == get_settings().validation_dir
    page = pages[0].read_text(encoding="utf-8")
    assert "Data documentation compiled by Great Expectations" in page and "Overview" in page
    assert pages[0].name in (pages[0].parent / "index.html").read_text(encoding="utf-8")
    html = make_digest(get_settings(), NOW.date()).html_path.read_text(encoding="utf-8")
    assert str((get_settings().validation_dir / "index.html").resolve()) in html
