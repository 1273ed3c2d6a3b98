"""One hostile feed among ten healthy ones, served from real loopback servers, ingested by a real
``newswatch ingest`` process: the run ends within its deadline and bounded memory, the ten healthy feeds load,
and the hostile one ends as a recorded error."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from pipeline.feeds.parse import MAX_ITEMS_PER_BODY
from tests.conftest import VENV_BIN
from tests.test_feeds_http import rss

RUN_DEADLINE_S = 60
PEAK_RSS_LIMIT_MB = 1536


def quadratic_blowup() -> bytes:
    """A ~130 KB body whose one entity is 100 KB, referenced 10,000 times: gigabytes if expanded."""
    refs = "&a;" * 10_000
    return (f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "{"A" * 102_400}">]><rss version="2.0"><channel>'
            f"<title>Bomb</title><item><title>t</title><description>{refs}</description></item></channel></rss>"
            ).encode()


def flood() -> bytes:
    """20,000 entries with near-identical titles and 20 KB texts in one ~9 MB body (under the 10 MiB cap):
    parsed, capped at the per-body entry limit, and grouped without quadratic work."""
    text = "Allied air defence units on the eastern flank reported new drone incursions overnight. " * 220
    return rss(*((f"f{n}", f"Drone incursion reported near the border, update {n}", text[:200 + n % 50])
                 for n in range(20_000)), channel="Flood")


class _Feeds(BaseHTTPRequestHandler):
    bodies: ClassVar[dict[str, bytes]] = {}

    def log_message(self, *args) -> None:  # keep the test output quiet
        pass

    def do_GET(self) -> None:
        if self.path == "/slow.xml":  # slowloris: headers, then one byte a second, forever
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.end_headers()
            try:
                for byte in rss(("s1", "Slow", "slow")) * 1000:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(1)
            except OSError:
                return
            return
        body = self.bodies.get(self.path)
        if body is None:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def feed_server():
    _Feeds.bodies = {f"/healthy{n}.xml": rss((f"h{n}", f"NATO allies meet in capital number {n} on air defence",
                                              f"Defence ministers met for round {n} of talks."))
                     for n in range(10)}
    _Feeds.bodies["/bomb.xml"] = quadratic_blowup()
    _Feeds.bodies["/flood.xml"] = flood()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Feeds)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _run_ingest(tmp_path: Path, base: str, hostile: str) -> tuple[dict, float, float]:
    feeds = tmp_path / "feeds.toml"
    names = [f"healthy{n}" for n in range(10)] + [hostile]
    feeds.write_text("".join(f'[[feeds]]\nname = "{n}"\nurl = "{base}/{n}.xml"\n\n' for n in names),
                     encoding="utf-8")
    env = {**os.environ, "NEWSWATCH_DB": str(tmp_path / "w.duckdb"), "NEWSWATCH_LANDING_DIR": str(tmp_path / "l"),
           "NEWSWATCH_DIGEST_DIR": str(tmp_path / "d"), "NEWSWATCH_FETCH_DEADLINE_S": "10",
           "NEWSWATCH_FETCH_READ_TIMEOUT_S": "5", "NO_PROXY": "127.0.0.1"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.monotonic()
    result = subprocess.run([str(VENV_BIN / "newswatch"), "ingest", "--no-seeds", "--feeds", str(feeds), "--json"],
                            env=env, capture_output=True, text=True, timeout=RUN_DEADLINE_S * 2, check=False)
    elapsed = time.monotonic() - started
    peak_mb = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout), elapsed, peak_mb


@pytest.mark.parametrize("hostile", ["bomb", "slow"])
def test_one_hostile_feed_among_ten_healthy_ones(tmp_path: Path, feed_server: str, hostile: str):
    summary, elapsed, peak_mb = _run_ingest(tmp_path, feed_server, hostile)
    assert elapsed < RUN_DEADLINE_S
    assert peak_mb < PEAK_RSS_LIMIT_MB
    assert summary["loaded"] == 10 and summary["feeds_ok"] == 10 and summary["feeds_failed"] == 1
    error = next(e for e in summary["feed_errors"] if e["feed"] == hostile)["error"]
    assert ("entities" in error) if hostile == "bomb" else ("deadline" in error)


def test_a_flood_of_entries_in_one_body_is_capped_with_a_warning(tmp_path: Path, feed_server: str):
    summary, elapsed, peak_mb = _run_ingest(tmp_path, feed_server, "flood")
    assert elapsed < RUN_DEADLINE_S
    assert peak_mb < PEAK_RSS_LIMIT_MB
    assert summary["feeds_ok"] == 11 and summary["feeds_failed"] == 0
    assert summary["items_seen"] == 10 + MAX_ITEMS_PER_BODY  # the healthy ten, and the flood up to its cap
    warning = next(w for w in summary["feed_warnings"] if w["feed"] == "flood")["warning"]
    assert "18000 entries beyond the 2000-entry cap" in warning

