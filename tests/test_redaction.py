"""Credentials in feed URLs never reach the warehouse, the CLI's output, the landing zone or the logs."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from click.testing import CliRunner
from pytest_httpserver import HTTPServer

from pipeline.cli import main
from pipeline.redact import redact_text, redact_url
from tests.test_feeds_http import NATO_ITEM, rss

SECRET = "s3cr3t-pa55"


@pytest.mark.parametrize(("url", "expected"), [
    (f"http://alice:{SECRET}@feeds.example/rss", "http://alice:***@feeds.example/rss"),
    (f"https://feeds.example/rss?api_key={SECRET}&lang=en", "https://feeds.example/rss?api_key=***&lang=en"),
    (f"https://feeds.example/rss?token={SECRET}", "https://feeds.example/rss?token=***"),
    ("https://feeds.example/rss?page=2", "https://feeds.example/rss?page=2"),
])
def test_redact_url(url, expected):
    assert redact_url(url) == expected


def test_redact_text_finds_urls_inside_messages():
    assert SECRET not in redact_text(f"network error: cannot reach 'http://bob:{SECRET}@h.example/x' now")


def test_credentials_stay_out_of_every_output(settings, tmp_path: Path, httpserver: HTTPServer, caplog):
    httpserver.expect_request("/private.xml").respond_with_data(rss(NATO_ITEM), content_type="text/xml")
    httpserver.expect_request("/broken.xml").respond_with_data("no", status=500)
    base = httpserver.url_for("/").rstrip("/").replace("http://", f"http://reader:{SECRET}@")
    feeds = tmp_path / "feeds.toml"
    feeds.write_text(f'[[feeds]]\nname = "Private"\nurl = "{base}/private.xml?api_key={SECRET}"\n\n'
                     f'[[feeds]]\nname = "Broken"\nurl = "{base}/broken.xml?token={SECRET}"\n', encoding="utf-8")
    runner = CliRunner()
    caplog.set_level(logging.INFO)
    ingest = runner.invoke(main, ["ingest", "--no-seeds", "--feeds", str(feeds), "--json"])
    assert ingest.exit_code == 0, ingest.output
    assert json.loads(ingest.output)["loaded"] == 1  # the credentials were used to fetch
    ours = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("werkzeug"))  # not the server's
    outputs = [ingest.output, runner.invoke(main, ["feeds", "--json"]).output, ours,
               runner.invoke(main, ["query", "SELECT url, last_error FROM sources", "--format", "json"]).output,
               runner.invoke(main, ["query", "SELECT details FROM runs", "--format", "json"]).output]
    outputs += [p.read_text(encoding="utf-8") for p in settings.landing_dir.rglob("*.meta.json")]
    for text in outputs:
        assert SECRET not in text
    assert "reader:***@" in outputs[1]
    again = runner.invoke(main, ["ingest", "--no-seeds", "--all", "--feeds", str(feeds), "--json"])
    assert json.loads(again.output)["feeds_ok"] == 1  # the second run still polls with the real credentials


def test_redirect_from_a_public_feed_into_internal_space_is_refused(httpserver: HTTPServer):
    from pipeline.feeds.fetch import fetch, is_internal_host, make_client

    httpserver.expect_request("/feed.xml").respond_with_data("", status=301,
                                                             headers={"Location": "http://127.0.0.2:9/admin"})
    url = httpserver.url_for("/feed.xml")
    # the loopback origin stands in for a public feed server: only other loopback hosts count as internal
    public_origin = lambda host: host not in ("127.0.0.1", "localhost")  # noqa: E731
    with make_client("t", 2, 2) as client:
        refused = fetch(client, url, internal=public_origin)
        allowed_by_setting = fetch(client, url, internal=public_origin, allow_internal=True, deadline_s=5)
    assert refused.error and "refused redirect to an internal address" in refused.error
    assert not refused.permanent_redirect and refused.final_url == url  # the stored URL is never rewritten
    assert "refused redirect" not in (allowed_by_setting.error or "")
    assert is_internal_host("127.0.0.1") and is_internal_host("10.1.2.3") and is_internal_host("169.254.169.254")
    assert not is_internal_host("8.8.8.8")
