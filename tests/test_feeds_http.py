"""Feed polling against a real HTTP server on loopback: conditional GET, redirects, retirement,
Retry-After, timeouts, size caps, gzip, charsets, duplicate guids, edited items, replay."""

from __future__ import annotations

import gzip
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from pipeline.feeds.health import feed_health
from pipeline.ingest import replay, run_ingest
from pipeline.settings import get_settings
from pipeline.store import Warehouse
from pipeline.store.connection import connect
from tests.conftest import FIXTURES


def rss(*items: tuple[str, str, str], channel: str = "Test outlet", encoding: str = "utf-8") -> bytes:
    entries = "".join(
        f"<item><title>{title}</title><link>https://outlet.example/{guid}</link><guid>{guid}</guid>"
        f"<description>{text}</description><pubDate>Mon, 02 Nov 2026 10:00:00 GMT</pubDate></item>"
        for guid, title, text in items)
    xml = (f'<?xml version="1.0" encoding="{encoding}"?><rss version="2.0"><channel><title>{channel}</title>'
           f"<link>https://outlet.example/</link><description>d</description>{entries}</channel></rss>")
    return xml.encode(encoding)


NATO_ITEM = ("g1", "NATO allies agree new eastern flank air defence plan",
             "Allies in Brussels agreed to reinforce NATO's eastern flank.")


def feeds_toml(tmp_path: Path, **feeds: str) -> Path:
    path = tmp_path / "feeds.toml"
    path.write_text("".join(f'[[feeds]]\nname = "{name}"\nurl = "{url}"\n\n' for name, url in feeds.items()),
                    encoding="utf-8")
    return path


def health(settings, name: str) -> dict:
    with connect(settings.db, read_only=True) as con:
        return next(f for f in feed_health(Warehouse(con, settings.db)) if f["name"] == name)


def ingest(settings, feeds_file):
    return run_ingest(settings, feeds_file, include_seeds=False)


def test_etag_and_last_modified_give_304_and_no_reparse(settings, tmp_path, httpserver: HTTPServer):
    seen_headers: list[dict] = []

    def handler(request: Request) -> Response:
        seen_headers.append(dict(request.headers))
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(status=304)
        return Response(rss(NATO_ITEM), content_type="application/rss+xml",
                        headers={"ETag": '"v1"', "Last-Modified": "Mon, 02 Nov 2026 10:00:00 GMT"})

    httpserver.expect_request("/feed.xml").respond_with_handler(handler)
    path = feeds_toml(tmp_path, Outlet=httpserver.url_for("/feed.xml"))
    first, second = ingest(settings, path), ingest(settings, path)
    assert (first.loaded, first.feeds_ok) == (1, 1)
    assert (second.items_seen, second.loaded, second.feeds_ok) == (0, 0, 1)
    assert seen_headers[1]["If-None-Match"] == '"v1"'
    assert seen_headers[1]["If-Modified-Since"] == "Mon, 02 Nov 2026 10:00:00 GMT"
    assert "newswatch" in seen_headers[0]["User-Agent"]
    assert health(settings, "Outlet")["last_status"] == 304


def test_unchanged_body_is_not_parsed_again(settings, tmp_path, httpserver: HTTPServer):
    httpserver.expect_request("/feed.xml").respond_with_data(rss(NATO_ITEM), content_type="text/xml")
    path = feeds_toml(tmp_path, Outlet=httpserver.url_for("/feed.xml"))
    assert ingest(settings, path).loaded == 1
    second = ingest(settings, path)
    assert (second.items_seen, second.feeds_ok) == (0, 1)


def test_permanent_redirect_updates_the_stored_url(settings, tmp_path, httpserver: HTTPServer):
    httpserver.expect_request("/old.xml").respond_with_data("", status=301, headers={"Location": "/new.xml"})
    httpserver.expect_request("/new.xml").respond_with_data(rss(NATO_ITEM), content_type="text/xml")
    path = feeds_toml(tmp_path, Outlet=httpserver.url_for("/old.xml"))
    assert ingest(settings, path).loaded == 1
    assert health(settings, "Outlet")["url"] == httpserver.url_for("/new.xml")


def test_410_retires_the_feed_and_it_is_not_polled_again(settings, tmp_path, httpserver: HTTPServer):
    httpserver.expect_request("/gone.xml").respond_with_data("gone", status=410)
    path = feeds_toml(tmp_path, Gone=httpserver.url_for("/gone.xml"))
    first = ingest(settings, path)
    assert first.feeds_failed == 1
    assert health(settings, "Gone")["state"] == "retired"
    calls = len(httpserver.log)
    second = ingest(settings, path)
    assert len(httpserver.log) == calls and (second.feeds_ok, second.feeds_failed) == (0, 0)


def test_429_honours_retry_after_and_backs_off(settings, tmp_path, httpserver: HTTPServer):
    httpserver.expect_request("/busy.xml").respond_with_data("slow down", status=429, headers={"Retry-After": "7200"})
    path = feeds_toml(tmp_path, Busy=httpserver.url_for("/busy.xml"))
    summary = ingest(settings, path)
    row = health(settings, "Busy")
    assert summary.feeds_failed == 1 and row["state"] == "failing" and "429" in row["last_error"]
    next_poll = datetime.fromisoformat(row["next_poll_at"])
    assert next_poll - datetime.now(UTC) > timedelta(minutes=110)


def test_failures_back_off_exponentially_and_recover(settings, tmp_path, httpserver: HTTPServer):
    from pipeline.feeds.schedule import BACKOFF_CAP, next_failure_poll

    now = datetime(2026, 1, 1, tzinfo=UTC)
    delays = [next_failure_poll(now, error_streak=n, retry_after=None) - now for n in range(1, 12)]
    assert delays == sorted(delays) and delays[1] == 2 * delays[0] and delays[-1] == BACKOFF_CAP
    httpserver.expect_ordered_request("/flaky.xml").respond_with_data("oops", status=503)
    httpserver.expect_ordered_request("/flaky.xml").respond_with_data(rss(NATO_ITEM), content_type="text/xml")
    path = feeds_toml(tmp_path, Flaky=httpserver.url_for("/flaky.xml"))
    ingest(settings, path)
    assert health(settings, "Flaky")["error_streak"] == 1
    ingest(settings, path)
    row = health(settings, "Flaky")
    assert (row["state"], row["error_streak"], row["last_error"]) == ("active", 0, None)


def test_timeout_is_a_recorded_error(settings, tmp_path, httpserver: HTTPServer, monkeypatch):
    monkeypatch.setenv("NEWSWATCH_FETCH_READ_TIMEOUT_S", "0.3")
    get_settings.cache_clear()

    def slow(request: Request) -> Response:
        time.sleep(1.0)
        return Response(rss(NATO_ITEM), content_type="text/xml")

    httpserver.expect_request("/slow.xml").respond_with_handler(slow)
    path = feeds_toml(tmp_path, Slow=httpserver.url_for("/slow.xml"))
    summary = ingest(get_settings(), path)
    assert summary.feeds_failed == 1 and "timeout" in summary.feed_errors[0]["error"]


def test_oversized_body_is_refused(settings, tmp_path, httpserver: HTTPServer, monkeypatch):
    monkeypatch.setenv("NEWSWATCH_FETCH_MAX_BYTES", "2000")
    get_settings.cache_clear()
    big = rss(*[(f"g{n}", f"Item {n}", "x" * 200) for n in range(40)])
    httpserver.expect_request("/big.xml").respond_with_data(big, content_type="text/xml")
    summary = ingest(get_settings(), feeds_toml(tmp_path, Big=httpserver.url_for("/big.xml")))
    assert summary.feeds_failed == 1 and "cap" in summary.feed_errors[0]["error"]


def test_gzip_body_is_decoded(settings, tmp_path, httpserver: HTTPServer):
    httpserver.expect_request("/gz.xml").respond_with_data(
        gzip.compress(rss(NATO_ITEM)), content_type="text/xml", headers={"Content-Encoding": "gzip"})
    summary = ingest(settings, feeds_toml(tmp_path, Gz=httpserver.url_for("/gz.xml")))
    assert summary.loaded == 1


def test_wrong_declared_charset_gives_clean_titles(settings, tmp_path, httpserver: HTTPServer):
    body = rss(("c1", "Déjà vu: l’OTAN renforce son flanc est", "Les alliés à Bruxelles."), encoding="utf-8")
    body = body.replace(b'encoding="utf-8"', b'encoding="iso-8859-1"')
    httpserver.expect_request("/latin.xml").respond_with_data(body, content_type="text/xml; charset=iso-8859-1")
    latin1 = rss(("c2", "Sécurité européenne", "Défense"), encoding="iso-8859-1")
    httpserver.expect_request("/real-latin.xml").respond_with_data(latin1, content_type="text/xml")
    ingest(settings, feeds_toml(tmp_path, Mislabelled=httpserver.url_for("/latin.xml"),
                                Latin=httpserver.url_for("/real-latin.xml")))
    with connect(settings.db, read_only=True) as con:
        titles = sorted(r[0] for r in con.execute("SELECT title FROM articles").fetchall())
    assert titles == ["Déjà vu: l’OTAN renforce son flanc est", "Sécurité européenne"]


def test_entity_expansion_bomb_is_harmless(settings, tmp_path, httpserver: HTTPServer):
    body = (FIXTURES / "feeds" / "entity_bomb.xml").read_bytes()
    httpserver.expect_request("/bomb.xml").respond_with_data(body, content_type="text/xml")
    summary = ingest(settings, feeds_toml(tmp_path, Bomb=httpserver.url_for("/bomb.xml")))
    assert summary.accounted
    with connect(settings.db, read_only=True) as con:
        longest = con.execute("SELECT coalesce(max(length(title) + length(body)), 0) FROM articles").fetchall()[0][0]
    assert longest < 10_000


def test_duplicate_guids_in_one_document_load_once(settings, tmp_path, httpserver: HTTPServer):
    httpserver.expect_request("/dup.xml").respond_with_data(rss(NATO_ITEM, NATO_ITEM), content_type="text/xml")
    summary = ingest(settings, feeds_toml(tmp_path, Dup=httpserver.url_for("/dup.xml")))
    assert (summary.items_seen, summary.loaded, summary.duplicates) == (2, 1, 1)


def test_edited_item_updates_its_article_and_keeps_history(settings, tmp_path, httpserver: HTTPServer):
    edited = (NATO_ITEM[0], NATO_ITEM[1] + " (updated)", NATO_ITEM[2] + " Leaders also agreed a timeline.")
    httpserver.expect_ordered_request("/e.xml").respond_with_data(rss(NATO_ITEM), content_type="text/xml")
    httpserver.expect_ordered_request("/e.xml").respond_with_data(rss(edited), content_type="text/xml")
    path = feeds_toml(tmp_path, Edits=httpserver.url_for("/e.xml"))
    first, second = ingest(settings, path), ingest(settings, path)
    assert (first.loaded, second.updated, second.loaded) == (1, 1, 0)
    with connect(settings.db, read_only=True) as con:
        assert con.execute("SELECT title, revision FROM articles").fetchall() == [(edited[1], 2)]
        history = con.execute("SELECT title FROM article_revisions ORDER BY revision").fetchall()
    assert [h[0] for h in history] == [NATO_ITEM[1], edited[1]]


def test_tracking_parameters_do_not_create_new_articles(settings, tmp_path, httpserver: HTTPServer):
    one = rss(("", "Item without guid about NATO", "text")).replace(b"<guid></guid>", b"")
    two = one.replace(b"https://outlet.example/", b"https://www.outlet.example/?utm_source=rss&amp;fbclid=1#top")
    httpserver.expect_ordered_request("/t.xml").respond_with_data(one, content_type="text/xml")
    httpserver.expect_ordered_request("/t.xml").respond_with_data(two, content_type="text/xml")
    path = feeds_toml(tmp_path, Track=httpserver.url_for("/t.xml"))
    assert ingest(settings, path).loaded == 1
    assert ingest(settings, path).loaded == 0


def test_json_feed_and_rdf_are_ingested(settings, tmp_path, httpserver: HTTPServer):
    json_feed = {"version": "https://jsonfeed.org/version/1.1", "title": "JSON outlet", "items": [
        {"id": "j1", "url": "https://json.example/1", "title": "EU defence ministers back drone wall",
         "content_html": "<p>Ministers met in Brussels.</p>", "date_published": "2026-11-02T08:00:00Z"}]}
    rdf = (b'<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
           b'xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
           b'<channel rdf:about="https://rdf.example/"><title>RDF outlet</title><link>https://rdf.example/</link>'
           b'<description>d</description></channel><item rdf:about="https://rdf.example/1"><title>Baltic states '
           b'warn of Russian sabotage</title><link>https://rdf.example/1</link><description>Cable cut.</description>'
           b'<dc:date>2026-11-02T09:00:00Z</dc:date></item></rdf:RDF>')
    httpserver.expect_request("/feed.json").respond_with_data(json.dumps(json_feed),
                                                              content_type="application/feed+json")
    httpserver.expect_request("/feed.rdf").respond_with_data(rdf, content_type="application/rdf+xml")
    summary = ingest(settings, feeds_toml(tmp_path, Json=httpserver.url_for("/feed.json"),
                                          Rdf=httpserver.url_for("/feed.rdf")))
    assert (summary.loaded, summary.feeds_ok) == (2, 2)
    with connect(settings.db, read_only=True) as con:
        rows = con.execute("SELECT source_name, published_at FROM articles ORDER BY source_name").fetchall()
    assert [r[0] for r in rows] == ["Json", "Rdf"] and all(r[1] is not None for r in rows)


def test_future_and_missing_dates_are_flagged(settings, tmp_path, httpserver: HTTPServer):
    body = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>D</title>'
            b"<item><title>Future NATO item</title><link>https://d.example/1</link>"
            b"<pubDate>Mon, 01 Jan 2099 00:00:00 GMT</pubDate></item>"
            b"<item><title>Undated NATO item</title><link>https://d.example/2</link></item></channel></rss>")
    httpserver.expect_request("/d.xml").respond_with_data(body, content_type="text/xml")
    ingest(settings, feeds_toml(tmp_path, Dates=httpserver.url_for("/d.xml")))
    with connect(settings.db, read_only=True) as con:
        rows = dict(con.execute("SELECT title, flags FROM articles").fetchall())
        latest = con.execute("SELECT max(published_at) FROM articles").fetchall()[0][0]
    assert "date_in_future_clamped" in rows["Future NATO item"]
    assert "date_missing_fetch_time_used" in rows["Undated NATO item"]
    assert latest <= datetime.now(UTC)


def test_broken_feed_is_recorded_and_does_not_stop_the_others(settings, tmp_path, httpserver: HTTPServer):
    httpserver.expect_request("/ok.xml").respond_with_data(rss(NATO_ITEM), content_type="text/xml")
    httpserver.expect_request("/html").respond_with_data("<html><body>Not a feed</body></html>",
                                                         content_type="text/html")
    summary = ingest(settings, feeds_toml(tmp_path, Ok=httpserver.url_for("/ok.xml"),
                                          Html=httpserver.url_for("/html")))
    assert (summary.feeds_ok, summary.feeds_failed, summary.loaded) == (1, 1, 1)
    assert health(settings, "Html")["last_error"]


def test_replay_rebuilds_the_warehouse_without_network(settings, tmp_path, monkeypatch):
    httpserver = HTTPServer(host="127.0.0.1")
    httpserver.start()
    httpserver.expect_request("/feed.xml").respond_with_data(
        rss(NATO_ITEM, ("g2", "Russian sabotage suspected in Baltic cable cut", "Finland and Estonia")),
        content_type="text/xml")
    ingest(settings, feeds_toml(tmp_path, Outlet=httpserver.url_for("/feed.xml")))
    httpserver.stop()
    monkeypatch.setenv("NEWSWATCH_DB", str(tmp_path / "rebuilt.duckdb"))
    get_settings.cache_clear()
    rebuilt = replay(get_settings())
    assert (rebuilt.items_seen, rebuilt.loaded, rebuilt.feeds_ok) == (2, 2, 1)
    again = replay(get_settings())  # bodies already processed: skipped, nothing parsed
    assert (again.items_seen, again.loaded, again.feeds_skipped) == (0, 0, 1)
    forced = replay(get_settings(), force=True)  # re-parsed: every item known, nothing new
    assert (forced.items_seen, forced.loaded, forced.duplicates) == (2, 0, 2)


@pytest.fixture
def threaded_server():
    server = HTTPServer(host="127.0.0.1", threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


@pytest.mark.parametrize("concurrent_feeds", [6])
def test_per_host_concurrency_is_limited(settings, tmp_path, threaded_server: HTTPServer, concurrent_feeds):
    import threading

    httpserver = threaded_server
    active, peak, lock = [0], [0], threading.Lock()

    def handler(request: Request) -> Response:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.2)
        with lock:
            active[0] -= 1
        return Response(rss(NATO_ITEM), content_type="text/xml")

    httpserver.expect_request("/c.xml").respond_with_handler(handler)
    urls = {f"F{n}": httpserver.url_for(f"/c.xml?n={n}") for n in range(concurrent_feeds)}
    summary = ingest(settings, feeds_toml(tmp_path, **urls))
    assert summary.feeds_ok == concurrent_feeds
    assert 1 <= peak[0] <= settings.fetch_per_host_limit
