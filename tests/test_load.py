"""Loads are transactional and idempotent: the same input twice leaves the same rows (dlt style)."""

from dataclasses import replace
from datetime import UTC, datetime

from pipeline.classify.scorer import get_scorer
from pipeline.ingest import run_ingest
from pipeline.load import load_items
from pipeline.normalize import content_hash
from pipeline.sources.seeds import load_seeds
from pipeline.store import Warehouse
from pipeline.store.connection import connect


def _snapshot(settings):
    with connect(settings.db, read_only=True) as con:
        articles = con.execute("SELECT * FROM articles ORDER BY article_id").fetchall()
        stories = con.execute("SELECT * FROM stories ORDER BY story_id").fetchall()
        revisions = con.execute("SELECT count(*) FROM article_revisions").fetchall()[0][0]
    return articles, stories, revisions


def test_seed_ingest_twice_changes_nothing(settings):
    first = run_ingest(settings, include_feeds=False)
    assert (first.items_seen, first.loaded, first.duplicates, first.quarantined) == (5, 5, 0, 0)
    before = _snapshot(settings)
    second = run_ingest(settings, include_feeds=False)
    assert (second.items_seen, second.loaded, second.updated, second.duplicates) == (5, 0, 0, 5)
    assert _snapshot(settings) == before
    assert first.accounted and second.accounted


def test_articles_have_the_contract_columns(settings):
    run_ingest(settings, include_feeds=False)
    with connect(settings.db, read_only=True) as con:
        rows = con.execute(
            "SELECT article_id, source_kind, source_name, url, title, summary, body, published_at, "
            "published_precision, ingested_at, language, content_hash, relevance_score, relevance_label, "
            "topics, evidence, story_id FROM articles ORDER BY source_name").fetchall()
    assert len(rows) == 5
    for row in rows:
        assert row[1] == "seed" and row[2] and not row[2].endswith(".txt")  # a readable source, not a file
        assert row[12] is not None and 0.0 <= row[12] <= 1.0 and row[13] in (0, 1, 2)
        assert row[16] is not None


def test_edited_item_becomes_a_revision_not_a_second_article(settings):
    scorer = get_scorer()
    items = load_seeds(settings.seeds_dir)[:1]
    now = datetime.now(UTC)
    relevance = {i.article_id: scorer.score(i.title, i.body) for i in items}
    with connect(settings.db) as con:
        wh = Warehouse(con, settings.db)
        first = load_items(wh, items, relevance, "run-1", now)
        edited = replace(items[0], title="Edited: " + items[0].title,
                         content_hash=content_hash("Edited: " + items[0].title, items[0].body))
        second = load_items(wh, [edited], {edited.article_id: relevance[edited.article_id]}, "run-2", now)
        third = load_items(wh, [edited], {edited.article_id: relevance[edited.article_id]}, "run-3", now)
        rows = con.execute("SELECT title, revision FROM articles").fetchall()
        history = con.execute("SELECT revision, title FROM article_revisions ORDER BY revision").fetchall()
    assert (len(first.loaded), len(second.updated), len(third.unchanged)) == (1, 1, 1)
    assert rows == [(edited.title, 2)]
    assert [r[0] for r in history] == [1, 2] and history[0][1] == items[0].title


def test_same_content_from_another_source_is_kept_as_a_duplicate_member(settings):
    scorer = get_scorer()
    original = load_seeds(settings.seeds_dir)[0]
    copy = replace(original, article_id="copy-1", source_id="feed:Other", source_name="Other outlet")
    relevance = {i.article_id: scorer.score(i.title, i.body) for i in (original, copy)}
    with connect(settings.db) as con:
        result = load_items(Warehouse(con, settings.db), [original, copy], relevance, "run-1", datetime.now(UTC))
        rows = con.execute("SELECT article_id, duplicate_of, story_id FROM articles ORDER BY article_id").fetchall()
        story = con.execute("SELECT member_count, outlets FROM stories").fetchall()
    assert result.loaded == [original.article_id] and result.duplicates == ["copy-1"]
    assert ("copy-1", original.article_id, original.article_id) in rows
    assert story == [(2, sorted([original.source_name, "Other outlet"]))]


def test_migrations_are_versioned_and_applied_once(settings):
    from pipeline.store.connection import migrate, schema_version

    with connect(settings.db) as con:
        version = schema_version(con)
        assert version >= 1
        assert migrate(con) == []
        assert schema_version(con) == version


_INGEST_AND_REPORT_IMPORTS = """
import json, sys
from click.testing import CliRunner
from pipeline.cli import main
result = CliRunner().invoke(main, ["ingest", "--json"])
summary = json.loads(result.stdout.strip().splitlines()[-1])
print(json.dumps({"exit": result.exit_code, "loaded": summary["loaded"], "duplicates": summary["duplicates"],
                  "gx": "great_expectations" in sys.modules, "embedding": "wordllama" in sys.modules}))
"""


def test_a_run_with_nothing_new_neither_classifies_nor_validates(settings):
    """Seeds are re-read every run: what the warehouse already holds unchanged is a duplicate at once, so the
    run never loads the model or Great Expectations (the cost of a run with nothing new is its imports)."""
    import json
    import subprocess
    import sys

    def run() -> dict:
        done = subprocess.run([sys.executable, "-c", _INGEST_AND_REPORT_IMPORTS], capture_output=True, text=True,
                              timeout=300, check=True)
        return json.loads(done.stdout.strip().splitlines()[-1])

    first, second = run(), run()
    assert first["exit"] == 0 and first["loaded"] == 5 and first["gx"] and first["embedding"]
    assert second == {"exit": 0, "loaded": 0, "duplicates": 5, "gx": False, "embedding": False}


def test_a_story_born_in_one_load_and_joined_in_the_next_keeps_one_up_to_date_row(settings):
    """A new story's row is inserted; when a later load adds a member its row is replaced, never doubled."""
    scorer = get_scorer()
    first_item = load_seeds(settings.seeds_dir)[0]
    syndicated = replace(first_item, article_id="syndicated-copy", source_id="feed:other", source_name="Other",
                         url="https://other.example/copy", canonical_url="https://other.example/copy")
    now = datetime.now(UTC)
    relevance = {i.article_id: scorer.score(i.title, i.body) for i in (first_item, syndicated)}
    with connect(settings.db) as con:
        wh = Warehouse(con, settings.db)
        load_items(wh, [first_item], relevance, "run-1", now)
        born = con.execute("SELECT story_id, member_count, outlets FROM stories").fetchall()
        second = load_items(wh, [syndicated], relevance, "run-2", now)
        grown = con.execute("SELECT story_id, member_count, outlets FROM stories").fetchall()
    assert born == [(first_item.article_id, 1, [first_item.source_name])]
    assert second.duplicates == ["syndicated-copy"]
    assert grown == [(first_item.article_id, 2, sorted([first_item.source_name, "Other"]))]
