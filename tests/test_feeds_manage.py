"""The feed list managed as in a feed reader, through the CLI: add by site URL (feed discovery over loopback),
remove (retired, not failing), disable/enable, OPML import and export round-tripping a reader's 50-feed
export, and a polite ingest that polls only feeds that are due unless --all."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from pytest_httpserver import HTTPServer

from pipeline.cli import main
from pipeline.feeds.config import load_feed_list
from tests.test_feeds_http import NATO_ITEM, rss

FOLDERS = ["Security & Defence", "Europe", "Ukraine", "US", "Think tanks"]


def reader_export(count: int = 50) -> str:
    """An OPML 1.0 export as Inoreader/Feedly write it: folders as outer outlines, feeds with text, title,
    type, xmlUrl and htmlUrl; a few feeds outside any folder; one with a category attribute."""
    folders: dict[str, list[str]] = {name: [] for name in FOLDERS}
    loose = []
    for n in range(count):
        category = ' category="/nato"' if n == 7 else ""
        outline = (f'<outline text="Outlet {n:02d}" title="Outlet {n:02d}" type="rss" '
                   f'xmlUrl="https://outlet{n:02d}.example/feed.xml" htmlUrl="https://outlet{n:02d}.example/"'
                   f"{category}/>")
        (loose if n % 10 == 9 else folders[FOLDERS[n % len(FOLDERS)]]).append(outline)
    body = "".join(f'<outline text="{name.replace("&", "&amp;")}" title="{name.replace("&", "&amp;")}">'
                   f'{"".join(items)}</outline>' for name, items in folders.items()) + "".join(loose)
    return ('<?xml version="1.0" encoding="UTF-8"?><opml version="1.0"><head><title>Subscriptions from a '
            f"reader</title></head><body>{body}</body></opml>")


def test_opml_import_then_export_round_trips_a_readers_export(tmp_path: Path):
    exported = tmp_path / "reader.opml"
    exported.write_text(reader_export(), encoding="utf-8")
    first, second = tmp_path / "first.toml", tmp_path / "second.toml"
    result = CliRunner().invoke(main, ["feeds", "import", str(exported), "--feeds", str(first), "--json"])
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.output)["added"]) == 50
    feeds = load_feed_list(first)
    assert len(feeds) == 50 and {f.tags[0] for f in feeds if f.tags} == set(FOLDERS)
    assert sum(1 for f in feeds if not f.tags) == 5
    assert next(f for f in feeds if f.name == "Outlet 07").tags == ("Ukraine", "nato")  # folder and category

    opml = CliRunner().invoke(main, ["feeds", "export", "--feeds", str(first)])
    assert opml.exit_code == 0 and opml.output.startswith("<?xml")
    (tmp_path / "ours.opml").write_text(opml.output, encoding="utf-8")
    assert CliRunner().invoke(main, ["feeds", "import", str(tmp_path / "ours.opml"), "--feeds",
                                     str(second)]).exit_code == 0
    assert [(f.name, f.url, f.tags) for f in load_feed_list(second)] == [(f.name, f.url, f.tags) for f in feeds]
    again = CliRunner().invoke(main, ["feeds", "import", str(exported), "--feeds", str(first), "--json"])
    assert json.loads(again.output) == {"added": [], "skipped": [f.name for f in feeds]}


def test_export_redacts_credentials_unless_asked(tmp_path: Path):
    listed = tmp_path / "feeds.toml"
    listed.write_text('[[feeds]]\nname = "Private"\nurl = "https://user:s3cret@feeds.example/x.xml?token=abc"\n',
                      encoding="utf-8")
    plain = CliRunner().invoke(main, ["feeds", "export", "--feeds", str(listed)]).output
    assert "s3cret" not in plain and "abc" not in plain
    kept = CliRunner().invoke(main, ["feeds", "export", "--feeds", str(listed), "--with-credentials"]).output
    assert "s3cret" in kept


def test_add_by_site_url_discovers_the_feed(tmp_path: Path, httpserver: HTTPServer):
    httpserver.expect_request("/").respond_with_data(
        '<html><head><title>Outlet</title><link rel="alternate" type="application/rss+xml" title="Outlet News" '
        'href="/news/rss.xml"></head><body>front page</body></html>', content_type="text/html")
    httpserver.expect_request("/news/rss.xml").respond_with_data(rss(NATO_ITEM), content_type="application/rss+xml")
    listed = tmp_path / "feeds.toml"
    listed.write_text("# my feeds\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["feeds", "add", httpserver.url_for("/"), "--language", "en", "--tags",
                                       "nato,eu", "--feeds", str(listed), "--json"])
    assert result.exit_code == 0, result.output
    added = json.loads(result.output)
    assert added["name"] == "Outlet News" and added["url"] == httpserver.url_for("/news/rss.xml")
    assert "# my feeds" in listed.read_text(encoding="utf-8")  # the file's comments survive the edit
    feed = load_feed_list(listed)[0]
    assert (feed.language, feed.tags) == ("en", ("nato", "eu"))
    direct = CliRunner().invoke(main, ["feeds", "add", httpserver.url_for("/news/rss.xml"), "--feeds", str(listed)])
    assert direct.exit_code == 1 and "already listed" in direct.output
    page = CliRunner().invoke(main, ["feeds", "add", httpserver.url_for("/missing"), "--feeds", str(listed)])
    assert page.exit_code == 1 and "cannot fetch" in page.output


def test_removed_feeds_retire_disabled_ones_rest_and_ingest_is_polite(settings, tmp_path: Path,
                                                                       httpserver: HTTPServer, monkeypatch):
    for n in (1, 2):
        httpserver.expect_request(f"/f{n}.xml").respond_with_data(
            rss((f"g{n}", f"NATO allies agree air defence plan number {n}", "Allies agreed a plan.")),
            content_type="application/rss+xml")
    listed = tmp_path / "feeds.toml"
    listed.write_text("".join(f'[[feeds]]\nname = "Feed {n}"\nurl = "{httpserver.url_for(f"/f{n}.xml")}"\n\n'
                              for n in (1, 2)), encoding="utf-8")
    monkeypatch.setenv("NEWSWATCH_FEEDS_FILE", str(listed))
    from pipeline.settings import get_settings

    get_settings.cache_clear()
    runner = CliRunner()

    def ingest(*flags: str) -> dict:
        result = runner.invoke(main, ["ingest", "--no-seeds", "--json", *flags])
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    def states() -> dict[str, str]:
        return {row["name"]: row["state"] for row in map(json.loads, runner.invoke(
            main, ["feeds", "--json"]).output.splitlines())}

    assert ingest()["feeds_ok"] == 2
    assert ingest()["feeds_ok"] == 0  # nothing is due yet: polite by default
    assert ingest("--all")["feeds_ok"] == 2
    assert runner.invoke(main, ["feeds", "disable", "Feed 2"]).exit_code == 0
    assert runner.invoke(main, ["feeds", "remove", "Feed 1"]).exit_code == 0
    assert ingest("--all")["feeds_ok"] == 0
    assert states() == {"Feed 1": "retired", "Feed 2": "disabled"}
    assert runner.invoke(main, ["feeds", "enable", "Feed 2"]).exit_code == 0
    assert ingest()["feeds_ok"] == 1 and states() == {"Feed 1": "retired", "Feed 2": "active"}
    unknown = runner.invoke(main, ["feeds", "remove", "Feed 9"])
    assert unknown.exit_code == 1 and "no feed named 'Feed 9'" in unknown.output
