"""The morning brief ranks by story importance: a story told by many outlets in several languages leads, every
top story lists its members, each story appears once under one topic, and digest --json gives top_stories."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from pipeline.cli import main
from pipeline.digest.archive import make_digest
from pipeline.digest.build import build_digest
from pipeline.settings import get_settings
from pipeline.store import Warehouse
from pipeline.store.connection import connect
from tests.test_validation import _process_items, make_item

NOW = datetime.now(UTC)
DAY = NOW.date()
# publication times inside today whatever the hour (a test run just after midnight must not spill into yesterday)
DAY_START = datetime(DAY.year, DAY.month, DAY.day, tzinfo=UTC)
BIG = ("Russian drones cross into Polish airspace; NATO jets scrambled over Rzeszów",
       "Poland's operational command said Russian drones entered its airspace and allied jets were scrambled.")


def _outlet(n: int, outlet: str, title: str, summary: str, hours: float, language: str = "en"):
    # published earlier today, in order of ``hours``, and never after now (a run just after midnight UTC too)
    return replace(make_item(n, title=title, summary=summary, published_at=DAY_START + (NOW - DAY_START) * hours / 10),
                   source_id=f"feed:{outlet}", source_name=outlet, url=f"https://{outlet.lower()}.example/{n}",
                   language=language)


def _load(settings):
    items = [
        _outlet(1, "Wire", *BIG, 1),
        _outlet(2, "Daily", "Poland scrambles jets as Russian drones cross into its airspace near Rzeszów",
                "Allied NATO jets were scrambled after Russian drones entered Polish airspace, the command said.", 1.5),
        _outlet(3, "Zeitung", "Russische Drohnen über Polen: NATO-Jets bei Rzeszów aufgestiegen",
                "Russische Drohnen drangen in den polnischen Luftraum ein; NATO-Jets stiegen bei Rzeszów auf.", 2,
                "de"),
        _outlet(4, "Gazeta", "Rosyjskie drony nad Polską. Myśliwce NATO poderwane koło Rzeszowa",
                "Rosyjskie drony naruszyły polską przestrzeń powietrzną; NATO poderwało myśliwce nad Rzeszowem.",
                2.5, "pl"),
        _outlet(5, "Local", "Sweden's army chief asks for more conscripts",
                "The Swedish armed forces want a bigger defence budget and more soldiers next year.", 0.5),
    ]
    _process_items(settings, items)


def test_the_most_covered_story_leads_and_lists_its_members(settings):
    _load(settings)
    archived = make_digest(get_settings(), DAY)
    top = archived.to_dict()["top_stories"]
    assert top, "no top stories"
    lead = top[0]
    assert len(lead["members"]) >= 3 and len(lead["outlets"]) >= 3
    assert set(lead["languages"]) >= {"en", "de"} or set(lead["languages"]) >= {"en", "pl"}
    assert [t["importance"] for t in top] == sorted((t["importance"] for t in top), reverse=True)
    assert all(m["title"] and m["source_name"] for t in top for m in t["members"])
    assert len({t["story_id"] for t in top}) == len(top)
    assert "outlets in" in lead["why"]
    assert all(len(t["topics"]) <= 2 for t in top)
    html = archived.html_path.read_text(encoding="utf-8")
    first_story = html.index("Top stories")
    assert html.index(lead["headline"][:30], first_story) < html.index("By topic")
    assert all(m["source_name"] in html for m in lead["members"][:5])


def test_each_story_appears_once_under_its_primary_topic(settings):
    _load(settings)
    from pipeline.digest.build import build_digest

    with connect(get_settings().db, read_only=True) as con:
        digest = build_digest(Warehouse(con, get_settings().db), DAY, NOW)
    filed = [s.story_id for stories in digest.by_topic.values() for s in stories]
    assert len(filed) == len(set(filed))
    for topic, stories in digest.by_topic.items():
        assert all(s.topics[0] == topic for s in stories)


def test_importance_is_stored_for_sql_users(settings):
    _load(settings)
    rows = [json.loads(line) for line in CliRunner().invoke(
        main, ["query", "SELECT story_id, importance, primary_topic, member_count FROM stories "
               "ORDER BY importance DESC", "--format", "json"]).output.splitlines()]
    assert rows and all(r["importance"] > 0 for r in rows)
    assert rows[0]["member_count"] == max(r["member_count"] for r in rows)


def test_digest_json_has_top_stories_in_page_order(settings):
    _load(settings)
    result = CliRunner().invoke(main, ["digest", "--date", DAY.isoformat(), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert {"story_id", "headline", "importance", "label", "outlets", "languages", "first_seen", "members"} <= set(
        data["top_stories"][0])


def _without_build_time(html: str) -> str:
    return "\n".join(line for line in html.splitlines() if "Built " not in line)


def test_rebuilding_a_past_day_gives_the_same_page(settings):
    yesterday = DAY - timedelta(days=1)
    noon = datetime(yesterday.year, yesterday.month, yesterday.day, 12, tzinfo=UTC)
    first_items = [replace(item, published_at=noon + timedelta(minutes=n))
                   for n, item in enumerate([_outlet(1, "Wire", *BIG, 1), _outlet(2, "Daily", *BIG, 1)])]
    _process_items(settings, first_items)
    first = make_digest(get_settings(), yesterday)
    html = first.html_path.read_text(encoding="utf-8")

    late = replace(_outlet(7, "Late Wire", "NATO defence ministers agree new air defence plan for the eastern flank",
                           "Allied defence ministers agreed a plan to reinforce air defence on the eastern flank.", 1),
                   published_at=noon + timedelta(hours=3))
    _process_items(settings, [late])  # arrives after the day's digest was built
    with connect(get_settings().db) as con:  # and a feed starts failing
        con.execute("INSERT INTO sources (source_id, kind, name, state, last_error) "
                    "VALUES ('feed:Broken', 'feed', 'Broken', 'failing', 'HTTP 500')")
    again = make_digest(get_settings(), yesterday)
    assert _without_build_time(again.html_path.read_text(encoding="utf-8")) == _without_build_time(html)
    assert "Late Wire" not in html


def test_first_seen_is_warehouse_time_and_republications_fold_into_one_line(settings):
    original = _outlet(1, "Wire", *BIG, 1)
    republished = replace(original, article_id="republished-1", source_id="feed:Partner", source_name="Partner",
                          guid="partner-1", url="https://partner.example/1")
    own_words = _outlet(2, "Daily", "Poland scrambles jets as Russian drones cross into its airspace near Rzeszów",
                        "Allied NATO jets were scrambled after Russian drones entered Polish airspace.", 1.5)
    _process_items(settings, [original, republished, own_words])
    with connect(get_settings().db, read_only=True) as con:
        digest = build_digest(Warehouse(con, get_settings().db), DAY, datetime.now(UTC))
    lead = digest.stories[0]
    assert lead.first_seen is not None and lead.first_seen >= NOW - timedelta(minutes=5)  # ingested, not published
    assert lead.published is not None and lead.published <= lead.first_seen
    lines = lead.member_lines
    wire = next(m for m in lines if m.source_name == "Wire")
    assert wire.also_in == ["Partner"] and all(m.source_name != "Partner" for m in lines)
    assert len(lead.members) == 3  # JSON and SQL users still see every article
    assert lead.status == "new"


def test_chart_days_before_the_warehouse_existed_are_no_data_not_zero(settings):
    _load(settings)
    with connect(get_settings().db, read_only=True) as con:
        digest = build_digest(Warehouse(con, get_settings().db), DAY, datetime.now(UTC))
    series = next(iter(digest.volume.values()))
    assert series[0] == (DAY - timedelta(days=14), None) and series[-1][1] >= 1


@pytest.mark.browser
@pytest.mark.parametrize("width", [600, 1200])
def test_digest_reads_at_phone_and_desktop_widths(settings, width):
    from PIL import Image

    from tests.browser import requires_chromium, screenshot_file

    if requires_chromium.args[0]:
        pytest.skip(requires_chromium.kwargs["reason"])
    _load(settings)
    archived = make_digest(get_settings(), DAY)
    png = screenshot_file(archived.html_path, archived.html_path.with_name(f"shot-{width}.png"), width=width,
                          height=1600)
    image = Image.open(png).convert("RGB")
    assert image.size == (width, 1600)
    masthead = [image.getpixel((x, 60)) for x in range(width)]
    dark = [x for x, (r, g, b) in enumerate(masthead) if b > r and r + g + b < 300]
    assert dark, "no masthead"
    # the 680 px card fills a phone screen (no horizontal scrolling) and sits centred on a desktop one
    assert max(dark) < width and (max(dark) - min(dark)) >= min(width - 40, 660)
    assert abs((min(dark) + max(dark)) / 2 - width / 2) < 20
