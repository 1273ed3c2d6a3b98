"""Same-article and same-story detection: outlets of one story grouped, different events kept apart,
assignment incremental and persistent across runs, idempotent on replay; the cluster CLI contract."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from pipeline.cli import main
from pipeline.cluster import cluster_records, evaluate_pairs
from pipeline.stories import StoryIndex, story_doc
from tests.conftest import shared_path

T0 = datetime(2026, 6, 10, 9, tzinfo=UTC)


def grouped(a: tuple[str, str, datetime], b: tuple[str, str, datetime]) -> bool:
    first = story_doc("a", a[0], a[1], a[2])
    return StoryIndex([first]).match(story_doc("b", b[0], b[1], b[2])) is not None


SAME_STORY = [
    (("Russian drones violate Polish airspace, NATO jets scrambled",
      "Poland said several Russian drones crossed into its airspace overnight.", T0),
     ("Poland scrambles jets after Russian drone incursion into its airspace",
      "Warsaw said NATO allied aircraft were scrambled after drones entered Polish airspace.",
      T0 + timedelta(hours=3))),
    (("Finland detains tanker suspected of cutting Baltic undersea cable",
      "Finnish police boarded the Eagle S, part of Russia's shadow fleet.", T0),
     ("Baltic Sea cable damaged; Finnish authorities seize shadow fleet tanker Eagle S",
      "Investigators suspect the vessel dragged its anchor across the cable.", T0 + timedelta(hours=8))),
]
DIFFERENT = [
    (("Stock Market Today: Dow, S&P Live Updates for June 10", "Stocks rose on Tuesday.", T0),
     ("Stock Market Today: Dow, S&P Live Updates for June 17", "Stocks rose on Tuesday.", T0 + timedelta(days=1))),
    (("Hurricanes beat Golden Knights in Game 1 of Stanley Cup Final", "Carolina won 3-2 in Raleigh.", T0),
     ("Golden Knights beat Hurricanes in Game 4 of Stanley Cup Final", "Vegas won 3-2 in Las Vegas.", T0)),
    (("Court rules Trump cannot federalise National Guard in Oregon", "A federal judge ruled on Saturday.", T0),
     ("Appeals court hears Trump bid to federalise National Guard in Oregon", "The administration appealed.",
      T0 + timedelta(days=6))),
    (("NATO defence ministers meet in Brussels", "Ministers discussed air defence.", T0),
     ("Bakery in Brussels wins national bread award", "A family bakery won a prize for sourdough.", T0)),
]


@pytest.mark.parametrize(("a", "b"), SAME_STORY)
def test_one_story_from_different_outlets_is_grouped(a, b):
    assert grouped(a, b)


@pytest.mark.parametrize(("a", "b"), DIFFERENT)
def test_different_events_sharing_words_are_kept_apart(a, b):
    assert not grouped(a, b)


def _records():
    return [
        {"id": "1", "title": "NATO allies agree 5% defence spending target at Hague summit",
         "text": "Leaders backed the new goal after talks with Rutte.", "url": "https://a.example/nato-5",
         "source": "Outlet A", "published": "2026-06-25T10:00:00Z"},
        {"id": "2", "title": "NATO allies agree 5% defence spending target at Hague summit - Outlet B",
         "text": "Leaders backed the new goal after talks with Rutte.", "url": "https://b.example/x",
         "source": "Outlet B", "published": "2026-06-25T11:00:00Z"},
        {"id": "3", "title": "Hague summit: allies commit to spend 5% of GDP on defence as Rutte hails deal",
         "text": "NATO members backed a target of five percent of GDP for defence spending.",
         "url": "https://c.example/hague", "source": "Outlet C", "published": "2026-06-25T12:00:00Z"},
        {"id": "4", "title": "Local bakery wins national bread award", "text": "A sourdough prize.",
         "url": "https://d.example/bread", "source": "Outlet D", "published": "2026-06-25T12:00:00Z"},
        {"id": "5", "title": "Something else entirely", "text": "", "url": "https://a.example/nato-5?utm_source=x",
         "source": "Outlet A", "published": "2026-06-25T13:00:00Z"},
    ]


def test_cluster_cli_contract(tmp_path):
    source, out = tmp_path / "items.jsonl", tmp_path / "out.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in _records()), encoding="utf-8")
    result = CliRunner().invoke(main, ["cluster", "--in", str(source), "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == ["1", "2", "3", "4", "5"]
    assert all(set(r) == {"id", "story_id", "duplicate_of"} for r in rows)
    by_id = {r["id"]: r for r in rows}
    assert by_id["1"]["duplicate_of"] is None and by_id["3"]["duplicate_of"] is None
    assert by_id["2"]["duplicate_of"] == "1"  # same text, outlet suffix on the title: same article
    assert by_id["5"]["duplicate_of"] == "1"  # same canonical URL
    assert by_id["1"]["story_id"] == by_id["2"]["story_id"] == by_id["3"]["story_id"] == by_id["5"]["story_id"]
    assert by_id["4"]["story_id"] != by_id["1"]["story_id"]


def test_cluster_is_deterministic():
    assert cluster_records(_records()) == cluster_records(_records())


def test_stories_are_incremental_persistent_and_idempotent(settings):
    from pipeline.classify.scorer import get_scorer
    from pipeline.cluster import record_to_item
    from pipeline.load import load_items
    from pipeline.store import Warehouse
    from pipeline.store.connection import connect

    items = [record_to_item(r, n) for n, r in enumerate(_records())]
    scorer = get_scorer()
    relevance = {i.article_id: scorer.score(i.title, i.summary) for i in items}
    now = datetime(2026, 6, 25, 14, tzinfo=UTC)
    with connect(settings.db) as con:
        load_items(Warehouse(con, settings.db), items[:1], relevance, "run-1", now)
    with connect(settings.db) as con:  # a later run joins the story created by the earlier one
        load_items(Warehouse(con, settings.db), items[1:], relevance, "run-2", now)
        before = con.execute("SELECT * FROM articles ORDER BY article_id").fetchall()
        story = con.execute("SELECT story_id, member_count, outlets, headline FROM stories "
                            "WHERE story_id = '1'").fetchall()
        again = load_items(Warehouse(con, settings.db), items, relevance, "run-3", now)
        after = con.execute("SELECT * FROM articles ORDER BY article_id").fetchall()
    assert story[0][1] == 4 and story[0][2] == ["Outlet A", "Outlet B", "Outlet C"]
    assert story[0][3] == items[0].title
    assert len(again.unchanged) == 5 and before == after


@pytest.mark.shared
def test_dev_pairs_hold_the_floor():
    pairs = [json.loads(line) for line in shared_path("eval", "same_story_dev.jsonl").open(encoding="utf-8")]
    metrics = evaluate_pairs(pairs)
    assert metrics["f1"] >= 0.93
    assert metrics["different_merged_share"] <= 0.06
    assert metrics["same_article_recall"] >= 0.9


def test_index_with_old_title_only_documents_still_matches_recent_stories():
    old = [story_doc(f"old-{n}", f"Old story number {n} about something", "", T0 - timedelta(days=6))
           for n in range(5000)]
    recent = story_doc("recent", *SAME_STORY[0][0][:2], SAME_STORY[0][0][2])
    index = StoryIndex([*old, recent], lsh_from=T0 - timedelta(days=3))
    assert len(index) == 5001
    match = index.match(story_doc("new", *SAME_STORY[0][1][:2], SAME_STORY[0][1][2]))
    assert match is not None and match.matched_article_id == "recent"
    republished = index.match(story_doc("again", "Old story number 7 about something", "", T0 - timedelta(days=5)))
    assert republished is not None and republished.duplicate_of == "old-7"


def test_cluster_echoes_ids_in_their_original_type():
    records = [dict(r, id=int(r["id"])) for r in _records()]
    rows = cluster_records(records)
    assert [r["id"] for r in rows] == [1, 2, 3, 4, 5]
    assert rows[1]["duplicate_of"] == 1 and rows[4]["duplicate_of"] == 1


def test_shared_run_index_extends_to_older_chunks(settings):
    from pipeline.classify.scorer import get_scorer
    from pipeline.cluster import record_to_item
    from pipeline.load import load_items, open_story_index
    from pipeline.store import Warehouse
    from pipeline.store.connection import connect

    def item(n, title, text, when):
        return record_to_item({"id": n, "title": title, "text": text, "source": f"Outlet {n}",
                               "url": f"https://o{n}.example/{n}", "published": when.isoformat()}, 0)

    old = T0 - timedelta(days=10)
    first = item(1, *SAME_STORY[1][0][:2], old)
    recent = item(2, "Local bakery wins national bread award", "A sourdough prize.", T0)
    later_old = item(3, *SAME_STORY[1][1][:2], old + timedelta(hours=5))
    scorer = get_scorer()
    relevance = {i.article_id: scorer.score(i.title, i.summary) for i in (first, recent, later_old)}
    with connect(settings.db) as con:
        load_items(Warehouse(con, settings.db), [first], relevance, "run-1", T0)
    with connect(settings.db) as con:  # one run, two chunks: recent items first, then older ones
        index = open_story_index(Warehouse(con, settings.db), [recent], T0)
        assert "1" not in index  # ten days back is outside the first chunk's window
        load_items(Warehouse(con, settings.db), [recent], relevance, "run-2", T0, stories=index)
        load_items(Warehouse(con, settings.db), [later_old], relevance, "run-2", T0, stories=index)
        stories = dict(con.execute("SELECT article_id, story_id FROM articles").fetchall())
    assert stories["3"] == stories["1"] == "1" and stories["2"] == "2"


@pytest.mark.parametrize("language", ["en", "de", "pl", "fr", "ru", "uk"])
def test_word_rarity_is_wordfreqs_own_figure(language):
    import unicodedata

    import wordfreq

    from pipeline.stories import _zipf

    words = ["the", "nato", "bundeswehr", "sojusznicy", "straße", "strasse", "kyiv", "київ", "москва", "f-35",
             "2026", "o'clock", "don’t", "Rutte", unicodedata.normalize("NFD", "żołnierze"), "żołnierze",
             "kalovisen", "ß", "ǆ", "İstanbul", "x"]
    assert [_zipf(word, language) for word in words] == [wordfreq.zipf_frequency(w, language) for w in words]
