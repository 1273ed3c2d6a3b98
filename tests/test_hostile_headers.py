"""Header values from a hostile or broken server are clamped, and impossible settings are refused up front."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from pipeline.feeds.fetch import parse_retry_after
from pipeline.feeds.schedule import MAX_INTERVAL, cache_max_age, next_failure_poll, next_success_poll
from pipeline.settings import Settings

NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)


@pytest.mark.parametrize("value", ["99999999999999", "9" * 40, "Fri, 31 Dec 9999 23:59:59 GMT"])
def test_huge_retry_after_is_capped(value):
    when = parse_retry_after(value, NOW)
    assert when is not None and when <= NOW + MAX_INTERVAL
    assert next_failure_poll(NOW, error_streak=1, retry_after=when) <= NOW + MAX_INTERVAL


def test_huge_max_age_and_ttl_are_capped():
    headers = {"cache-control": "public, max-age=99999999999999999"}
    assert cache_max_age(headers) == MAX_INTERVAL
    when, interval = next_success_poll(NOW, item_times=[], ttl_minutes=9999999999999, headers=headers,
                                       previous_interval=None)
    assert interval == MAX_INTERVAL and when == NOW + MAX_INTERVAL
    assert next_success_poll(NOW, item_times=[], ttl_minutes=-5, headers={}, previous_interval=None)[1] \
        <= timedelta(hours=1)


@pytest.mark.parametrize(("name", "value"), [
    ("fetch_per_host_limit", 0), ("fetch_concurrency", 0), ("fetch_max_bytes", -1), ("fetch_max_bytes", 0),
    ("fetch_connect_timeout_s", 0), ("fetch_read_timeout_s", -3), ("db_lock_timeout_s", -1),
])
def test_impossible_settings_are_refused(name, value):
    with pytest.raises(ValidationError, match=name):
        Settings(**{name: value})


def test_bad_setting_is_one_clear_line_from_the_cli(settings, monkeypatch):
    from click.testing import CliRunner

    from pipeline.cli import main
    from pipeline.settings import get_settings

    monkeypatch.setenv("NEWSWATCH_FETCH_PER_HOST_LIMIT", "0")
    get_settings.cache_clear()
    result = CliRunner().invoke(main, ["status"])
    get_settings.cache_clear()
    assert result.exit_code == 1
    assert "NEWSWATCH_FETCH_PER_HOST_LIMIT" in result.output and "Traceback" not in result.output


def _json_feed(items) -> bytes:
    import json

    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "Hostile", "items": items}).encode()


def _parse(body: bytes):
    from pipeline.feeds.parse import parse_feed

    return parse_feed(body, {"content-type": "application/feed+json"}, source_id="feed:hostile",
                      source_name="Hostile", language_hint="en", fetched_at=NOW)


def test_json_feed_with_wrong_types_keeps_the_good_items():
    parsed = _parse(_json_feed([
        {"id": "1", "title": 12345, "url": ["https://a.example/x"], "content_text": "NATO ministers met."},
        {"id": "2", "title": "Allies agree drone wall", "url": "https://a.example/2", "tags": [{"x": 1}, "nato"],
         "authors": "not a list", "content_html": {"oops": True}},
        "not an object",
    ]))
    assert parsed.error is None
    titles = [item.title for item in parsed.items]
    assert "12345" in titles and "Allies agree drone wall" in titles
    assert parsed.warning and "1 malformed" in parsed.warning


def test_absurdly_deep_json_is_a_recorded_error_not_a_crash():
    body = b'{"version": "https://jsonfeed.org/version/1.1", "items": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    parsed = _parse(body)
    assert parsed.error and "invalid JSON Feed" in parsed.error and not parsed.items


def test_markup_in_feed_entries_never_reaches_the_text():
    # feedparser's own sanitizer is off (parse._FEEDPARSER_OPTIONS): html_to_text alone must drop what runs
    summary = ("&lt;p onclick=&quot;steal()&quot;&gt;Allies met.&lt;/p&gt;&lt;script&gt;steal()&lt;/script&gt;"
               "&lt;style&gt;p{x:1}&lt;/style&gt;&lt;iframe src=&quot;https://evil.example/&quot;&gt;frame"
               "&lt;/iframe&gt;&lt;a href=&quot;/r&quot;&gt;More&lt;/a&gt;")
    body = ('<?xml version="1.0"?><rss version="2.0" xml:base="https://outlet.example/news/"><channel><title>O</title>'
            '<link>https://outlet.example/</link><item><title>Allies meet &lt;b&gt;today&lt;/b&gt;</title>'
            f'<link>a/1.html</link><description>{summary}</description></item></channel></rss>').encode()
    from pipeline.feeds.parse import parse_feed

    parsed = parse_feed(body, {}, source_id="feed:o", source_name="O", language_hint="en", fetched_at=NOW)
    (item,) = parsed.items
    assert item.url == "https://outlet.example/news/a/1.html"  # entry links still resolve against xml:base
    assert item.title == "Allies meet today"
    assert "Allies met." in item.summary and "More" in item.summary
    for hostile in ("steal", "script", "p{x:1}", "frame", "evil", "<"):
        assert hostile not in item.summary and hostile not in item.body


@pytest.mark.parametrize(("content", "message"), [
    ('feeds = "oops"\n', "must be a list"),
    ('[[feeds]]\nname = "A"\nurl = "https://a.example/rss"\nlanguage = 42\n', "language must be a code"),
    ('[[feeds]]\nname = "A"\nurl = "https://a.example/rss"\n[[feeds]]\nname = " A "\nurl = "https://b.example/"\n',
     "listed twice"),
    ('[[feeds]]\nname = ".."\nurl = "https://a.example/rss"\n', "letters or digits"),
    ('[[feeds]]\nname = "A"\nurl = "https://a.example/rss"\ntags = "x"\n', "tags must be a list"),
])
def test_bad_feed_lists_are_clear_errors(settings, tmp_path, content, message):
    from click.testing import CliRunner

    from pipeline.cli import main

    path = tmp_path / "feeds.toml"
    path.write_text(content, encoding="utf-8")
    result = CliRunner().invoke(main, ["ingest", "--no-seeds", "--feeds", str(path)])
    assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output


def test_latin1_feed_list_and_missing_taxonomy_are_clear_errors(settings, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from pipeline.cli import main
    from pipeline.settings import get_settings

    path = tmp_path / "feeds.toml"
    path.write_bytes('[[feeds]]\nname = "Süd"\nurl = "https://a.example/rss"\n'.encode("latin-1"))
    result = CliRunner().invoke(main, ["ingest", "--no-seeds", "--feeds", str(path)])
    assert result.exit_code == 1 and "utf-8" in result.output.lower()
    monkeypatch.setenv("NEWSWATCH_TAXONOMY_FILE", str(tmp_path / "typo.toml"))
    get_settings.cache_clear()
    result = CliRunner().invoke(main, ["ingest", "--no-seeds", "--no-feeds"])
    get_settings.cache_clear()
    assert result.exit_code == 1 and "typo.toml" in result.output and "Traceback" not in result.output


def test_a_feed_name_cannot_escape_the_landing_dir():
    from pipeline.feeds.landing import _safe

    assert _safe("..") == "feed" and "/" not in _safe("../../etc") and not _safe("../x").startswith(".")
