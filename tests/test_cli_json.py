"""One --json convention across the CLI: a result is one JSON object, a stream of rows is JSON Lines; every
command's bad input is a one-line error and a non-zero exit. And `query` runs files, standard input and
parameters (every example in warehouse/queries runs through `query --file`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli import main
from pipeline.settings import PROJECT_ROOT
from tests.conftest import shared_path

QUERIES = sorted((PROJECT_ROOT / "warehouse" / "queries").glob("*.sql"))


@pytest.fixture
def warehouse(settings):
    """The seeds ingested (5 articles) and today's digest built."""
    runner = CliRunner()
    assert runner.invoke(main, ["ingest", "--no-feeds"]).exit_code == 0
    assert runner.invoke(main, ["digest"]).exit_code == 0
    return settings


def _object(args: list[str]) -> dict:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    value = json.loads(result.output)
    assert isinstance(value, dict)
    return value


def _lines(args: list[str]) -> list[dict]:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines() if line.strip()]
    assert all(isinstance(row, dict) for row in rows)
    return rows


def test_results_are_one_json_object(warehouse):
    assert {"run_id", "items_seen", "loaded", "accounted"} - {"accounted"} <= set(_object(["replay", "--json"]))
    assert {"articles", "stories", "last_run", "feeds"} <= set(_object(["status", "--json"]))
    assert {"day", "html", "top_stories"} <= set(_object(["digest", "--json"]))
    assert {"changed", "changes", "classifier_version"} <= set(_object(["backtest", "--json"]))
    assert {"run_id", "quarantined"} <= set(_object(["quarantine", "replay", "--json"]))
    article = _lines(["query", "SELECT article_id FROM articles LIMIT 1", "--format", "json"])[0]["article_id"]
    assert _object(["label", article, "2", "--json"]) == {"labels": 1}
    assert {"run_id", "articles", "changed"} <= set(_object(["rescore", "--json"]))


def test_row_streams_are_json_lines(warehouse):
    assert _lines(["feeds", "--json"]) == []  # no feeds listed: an empty stream, not "[]"
    assert _lines(["quarantine", "list", "--json", "--all"]) == []
    assert len(_lines(["query", "SELECT article_id FROM articles", "--format", "json"])) == 5


def test_evaluations_print_one_object_with_or_without_the_flag(tmp_path):
    labelled = tmp_path / "labelled.jsonl"
    labelled.write_text("".join(json.dumps({"id": f"x{n}", "title": t, "text": t, "label": label}) + "\n"
                                for n, (t, label) in enumerate([("NATO summit in Vilnius agrees air defence plan", 2),
                                                                ("Local bakery wins bread prize", 0)])),
                        encoding="utf-8")
    plain, flagged = _object(["eval", "--in", str(labelled), "--no-cv"]), _object(
        ["eval", "--in", str(labelled), "--no-cv", "--json"])
    assert plain["items"] == flagged["items"] == 2
    pairs = shared_path("eval", "same_story_dev.jsonl")
    assert "f1" in json.dumps(_object(["eval-stories", "--in", str(pairs), "--no-cv", "--json"]))


@pytest.mark.parametrize(("args", "message"), [
    (["eval", "--in", "{bad}", "--no-cv"], "not a labelled item"),
    (["eval-stories", "--in", "{bad}", "--no-cv"], "not a labelled pair"),
    (["classify", "--in", "{noid}"], "no id"),
    (["cluster", "--in", "{noid}"], "no id"),
    (["classify", "--in", "{empty}"], "neither title nor text"),
    (["label", "--in", "{bad}"], "each line needs article_id and label"),
    (["replay", "--feed", "No Such Feed"], "no landed bodies for a feed named 'No Such Feed'"),
    (["quarantine", "show", "nope"], "no quarantined item with id nope"),
    (["query", "--param", "no-equals-sign", "SELECT 1"], "--param needs NAME=VALUE"),
    (["query"], "give SQL, --file FILE, or '-'"),
    (["digest", "--date", "yesterday"], "Invalid value for '--date'"),
])
def test_bad_input_is_a_one_line_error(warehouse, tmp_path: Path, args: list[str], message: str):
    files = {"bad": '{"a": 1}\n', "noid": '{"title": "NATO summit"}\n', "empty": '{"id": "e1", "title": " "}\n'}
    for name, text in files.items():
        (tmp_path / f"{name}.jsonl").write_text(text, encoding="utf-8")
    args = [a.format(**{n: tmp_path / f"{n}.jsonl" for n in files}) for a in args]
    result = CliRunner().invoke(main, args)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("path", QUERIES, ids=[p.name for p in QUERIES])
def test_every_example_query_runs_from_its_file(warehouse, path: Path):
    result = CliRunner().invoke(main, ["query", "--file", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output


def test_query_from_standard_input_with_a_parameter(warehouse):
    result = CliRunner().invoke(main, ["query", "-", "--param", "day=2026-01-15", "--format", "json"],
                                input="-- a comment first, as in the example files\n"
                                      "SELECT getvariable('day')::DATE AS day, count(*) AS n FROM articles\n")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"day": "2026-01-15", "n": 5}


def test_relevant_stories_query_reads_its_day_parameter(warehouse):
    path = PROJECT_ROOT / "warehouse" / "queries" / "relevant_stories_today.sql"
    today = _lines(["query", "--file", str(path), "--format", "json"])
    elsewhere = _lines(["query", "--file", str(path), "--param", "day=1999-01-01", "--format", "json"])
    assert today and elsewhere == []


def test_a_repeated_send_says_why_nothing_went(warehouse, smtp_server, monkeypatch):
    controller, _ = smtp_server
    monkeypatch.setenv("NEWSWATCH_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("NEWSWATCH_SMTP_PORT", str(controller.port))
    monkeypatch.setenv("NEWSWATCH_DIGEST_TO", "analyst@example.org")
    from pipeline.settings import get_settings

    get_settings.cache_clear()
    assert CliRunner().invoke(main, ["digest", "--send"]).exit_code == 0
    again = CliRunner().invoke(main, ["digest", "--send"])
    assert again.exit_code == 0 and "skipped (the" in again.output and "already sent to analyst@example.org" in \
        again.output


def test_full_text_search_finds_articles_and_follows_new_ones(warehouse):
    hits = _lines(["search", "Blinken Brussels", "--json"])
    assert hits and "Blinken" in hits[0]["title"] and hits[0]["score"] > 0
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    assert _lines(["search", "Suwałki", "--json"]) == []
    from tests.test_validation import _process_items, make_item

    _process_items(warehouse, [make_item(1, title="Suwalki gap exercise draws allied brigades",
                                         summary="Allied brigades trained in the Suwałki gap.")])
    fresh = _lines(["search", "suwałki", "--json"])  # accents folded; the index caught up with the new article
    assert len(fresh) == 1 and fresh[0]["title"].startswith("Suwalki gap exercise")
    bad = CliRunner().invoke(main, ["search", " "])
    assert bad.exit_code == 2 and "give words to search for" in bad.output
