"""One poll of one feed: conditional GET, landing of a changed body, and what the next poll should be."""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from pipeline.feeds.config import FeedConfig
from pipeline.feeds.fetch import fetch, make_client
from pipeline.feeds.host_slots import HostSlots, LocalHostSlots, PostgresHostSlots
from pipeline.feeds.landing import body_hash, land
from pipeline.feeds.outcome import FeedState, PollOutcome
from pipeline.redact import redact_text, redact_url
from pipeline.settings import Settings

_KEEP_HEADERS = ("content-type", "etag", "last-modified", "cache-control", "retry-after", "content-location",
                 "content-language")


def poll_feed(client: httpx.Client, feed: FeedConfig, state: FeedState, landing_dir: Path,
              max_bytes: int, deadline_s: float = 60.0, allow_internal: bool = False) -> PollOutcome:
    now = datetime.now(UTC)
    base = {"source_id": feed.source_id, "feed_name": feed.name, "url": redact_url(state.url),
            "polled_at": now.isoformat()}
    if state.retired:
        return PollOutcome(**base, new_url=None, status=None, outcome="retired", error="feed retired (HTTP 410)",
                           etag=state.etag, last_modified=state.last_modified, body_hash=state.last_body_hash,
                           landing=None, headers={}, retry_after=None, elapsed_s=0.0)
    result = fetch(client, state.url, etag=state.etag, last_modified=state.last_modified, max_bytes=max_bytes,
                   deadline_s=deadline_s, allow_internal=allow_internal)
    headers = {k: v for k, v in result.headers.items() if k in _KEEP_HEADERS}
    new_url = redact_url(result.final_url) if result.permanent_redirect else None
    result.error = redact_text(result.error)
    common = {**base, "new_url": new_url, "status": result.status, "headers": headers,
              "retry_after": result.retry_after.isoformat() if result.retry_after else None,
              "elapsed_s": round(result.elapsed_s, 4)}
    if result.not_modified:
        return PollOutcome(**common, outcome="not_modified", error=None, etag=result.headers.get("etag", state.etag),
                           last_modified=result.headers.get("last-modified", state.last_modified),
                           body_hash=state.last_body_hash, landing=None)
    if not result.ok:
        outcome = "retired" if result.status == 410 else "failed"
        return PollOutcome(**common, outcome=outcome, error=result.error, etag=state.etag,
                           last_modified=state.last_modified, body_hash=state.last_body_hash, landing=None)
    digest = body_hash(result.body)
    etag, last_modified = result.headers.get("etag"), result.headers.get("last-modified")
    if digest == state.last_body_hash:
        return PollOutcome(**common, outcome="unchanged_body", error=None, etag=etag, last_modified=last_modified,
                           body_hash=digest, landing=None)
    ref = land(landing_dir, source_id=feed.source_id, feed_name=feed.name, url=redact_url(result.final_url) or "",
               body=result.body, headers=headers, status=200, fetched_at=now)
    return PollOutcome(**common, outcome="changed", error=None, etag=etag, last_modified=last_modified,
                       body_hash=digest, landing=ref.to_dict())


def poll_feeds(feeds: Iterable[FeedConfig], states: dict[str, FeedState], settings: Settings) -> list[PollOutcome]:
    """Poll several feeds concurrently, at most ``fetch_per_host_limit`` at a time per host (across every
    worker when they share a PostgreSQL: ``settings.host_slots_dsn``)."""
    feeds = list(feeds)
    if not feeds:
        return []
    dsn = settings.host_slots_dsn
    slots: HostSlots = (PostgresHostSlots(dsn, settings.fetch_per_host_limit) if dsn
                        else LocalHostSlots(settings.fetch_per_host_limit))

    def one(feed: FeedConfig) -> PollOutcome:
        state = states.get(feed.source_id) or FeedState(url=feed.url)
        with slots.hold(urlsplit(state.url).hostname or ""):
            return poll_feed(client, feed, state, settings.landing_dir, settings.fetch_max_bytes,
                             settings.fetch_deadline_s, settings.fetch_allow_internal_redirects)

    with make_client(settings.user_agent, settings.fetch_connect_timeout_s, settings.fetch_read_timeout_s) as client, \
            ThreadPoolExecutor(max_workers=max(1, min(settings.fetch_concurrency, len(feeds)))) as pool:
        return list(pool.map(one, feeds))
