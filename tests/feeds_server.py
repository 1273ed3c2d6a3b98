"""Loopback feeds for the scale-out tests: many feeds of distinct reports, and a server that answers in
parallel and counts how many requests it holds at once (all feeds share one host, 127.0.0.1)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

TOPICS = ("NATO air policing jets scrambled over the Baltic", "Drone sighted above a Danish air base",
          "EU agrees new sanctions package on Russian shadow fleet", "Poland orders more Patriot batteries",
          "Undersea cable damaged in the Gulf of Finland", "Ramstein group pledges air defence for Ukraine")


def rss(feed: int, items: int) -> str:
    """A feed of ``items`` distinct reports (each its own event: numbered ministers, places and figures)."""
    entries = "".join(
        f"<item><title>{TOPICS[(feed + n) % len(TOPICS)]}: report {feed}-{n} from sector {feed * 100 + n}"
        f"</title><link>https://feed{feed}.example/a/{n}</link><guid>feed{feed}-item{n}</guid>"
        f"<description>Officials in district {feed * 100 + n} confirmed figure {feed * 1000 + n} on "
        f"{datetime.now(UTC):%d %b %Y}.</description>"
        f"<pubDate>{datetime.now(UTC):%a, %d %b %Y %H:%M:%S} +0000</pubDate></item>" for n in range(items))
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {feed}</title>{entries}</channel></rss>'


class ConcurrencyMeter:
    """Serves each feed slowly and counts the requests in flight at once (all feeds share one host)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.active = 0
        self.most = 0
        self._lock = threading.Lock()

    def handler(self, body: str) -> Callable[[Request], Response]:
        def respond(_: Request) -> Response:
            with self._lock:
                self.active += 1
                self.most = max(self.most, self.active)
            try:
                time.sleep(self.seconds)
                return Response(body, content_type="application/rss+xml")
            finally:
                with self._lock:
                    self.active -= 1
        return respond


def serve_feeds(httpserver: HTTPServer, feeds: int, items: int, path: Path,
                meter: ConcurrencyMeter | None = None) -> list[str]:
    """``feeds`` loopback feeds listed in ``path``; returns their names."""
    names = []
    lines = []
    for feed in range(feeds):
        request = httpserver.expect_request(f"/feed{feed}.xml")
        if meter is None:
            request.respond_with_data(rss(feed, items), content_type="application/rss+xml")
        else:
            request.respond_with_handler(meter.handler(rss(feed, items)))
        names.append(f"Feed {feed}")
        lines.append(f'[[feeds]]\nname = "Feed {feed}"\nurl = "{httpserver.url_for(f"/feed{feed}.xml")}"\n'
                     'language = "en"\n')
    path.write_text("\n".join(lines), encoding="utf-8")
    return names


@pytest.fixture
def threaded_server() -> Iterator[HTTPServer]:
    """A loopback feed server that answers requests in parallel (so that it can see how many arrive at once)."""
    server = HTTPServer(host="127.0.0.1", threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()
