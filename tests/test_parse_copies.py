"""feedparser parses the same with newswatch's flat copies of its content parameters as with deep copies."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import feedparser
import feedparser.mixin
import pytest
from feedparser.util import FeedParserDict

from pipeline.feeds import parse as feed_parse
from tests.conftest import shared_path

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="de" xml:base="https://outlet.example/">
  <title type="html">Sicherheit &amp;lt;b&amp;gt;heute&amp;lt;/b&amp;gt;</title>
  <entry xml:base="/politik/" xml:lang="pl">
    <title type="text">Sojusznicy na szczycie NATO</title>
    <link href="nato-szczyt"/>
    <id>tag:outlet.example,2026:1</id>
    <updated>2026-03-04T09:30:00+01:00</updated>
    <summary type="html">&lt;p&gt;Ministrowie obrony &lt;a href="x"&gt;w Brukseli&lt;/a&gt;.&lt;/p&gt;</summary>
    <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>Treść <b>pełna</b>.</p></div></content>
    <content type="text/plain">Druga treść.</content>
  </entry>
</feed>""".encode()


def _parsed_with(stand_in: object, body: bytes) -> FeedParserDict:
    saved = feedparser.mixin.copy
    feedparser.mixin.copy = stand_in
    try:
        return feedparser.parse(body, **feed_parse._FEEDPARSER_OPTIONS)
    finally:
        feedparser.mixin.copy = saved


def test_a_feed_with_content_parameters_parses_the_same_with_flat_copies():
    deep, flat = _parsed_with(copy, ATOM), _parsed_with(feed_parse._FlatCopies, ATOM)
    assert flat.entries == deep.entries and flat.feed == deep.feed
    entry = flat.entries[0]
    assert entry.summary_detail["language"] == "pl" and [c["type"] for c in entry.content] == [
        "application/xhtml+xml", "text/plain"]
    # each stored value has its own parameters: changing one leaves the others as they were
    entry.content[0]["type"] = "changed"
    assert entry.content[1]["type"] == "text/plain" and entry.summary_detail["type"] == "text/html"


def test_anything_but_a_flat_mapping_of_strings_is_still_deep_copied():
    nested = FeedParserDict({"type": "text/html", "links": [{"href": "https://a.example"}]})
    copied = feed_parse._FlatCopies.deepcopy(nested)
    copied["links"][0]["href"] = "changed"
    assert nested["links"][0]["href"] == "https://a.example"


def test_the_stand_in_is_removed_after_each_parse_even_a_failed_one():
    feed_parse.parse_feed(ATOM, {}, source_id="feed:x", source_name="x", language_hint=None,
                          fetched_at=datetime(2026, 3, 4, tzinfo=UTC))
    feed_parse.parse_feed(b"<rss><channel><item><title>broken", {}, source_id="feed:x", source_name="x",
                          language_hint=None, fetched_at=datetime(2026, 3, 4, tzinfo=UTC))
    assert feedparser.mixin.copy is copy


@pytest.mark.shared
def test_every_shared_feed_document_parses_the_same_with_flat_copies():
    documents = [path for path in sorted(shared_path("feeds").rglob("*"))
                 if path.is_file() and path.suffix in {".xml", ".rss", ".atom", ".rdf", ""}]
    assert len(documents) > 100
    for path in documents:
        body = path.read_bytes()
        deep, flat = _parsed_with(copy, body), _parsed_with(feed_parse._FlatCopies, body)
        assert flat.entries == deep.entries and flat.feed == deep.feed, path
