"""Polite HTTP fetching of feeds: timeouts, a body-size cap, gzip, conditional GET, Retry-After."""

from __future__ import annotations

import email.utils
import ipaddress
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx

from pipeline.feeds.schedule import MAX_INTERVAL, MAX_INTERVAL_S
from pipeline.redact import install_log_redaction

ACCEPT = ("application/rss+xml, application/atom+xml, application/rdf+xml, application/feed+json, "
          "application/json;q=0.9, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.5")


@dataclass(slots=True)
class FetchResult:
    url: str
    final_url: str
    status: int | None  # None when no HTTP answer came back
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    error: str | None = None
    elapsed_s: float = 0.0
    permanent_redirect: bool = False
    retry_after: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.error is None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


class BodyTooLarge(Exception):
    pass


def parse_retry_after(value: str | None, now: datetime) -> datetime | None:
    """Retry-After as seconds or an HTTP date, as an absolute UTC time."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        # a hostile or broken server may ask for 10^14 seconds: never further than the scheduler's horizon
        return now + timedelta(seconds=min(int(value), MAX_INTERVAL_S))
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, OverflowError):
        return None
    parsed = parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return min(parsed, now + MAX_INTERVAL)


def make_client(user_agent: str, connect_timeout_s: float, read_timeout_s: float) -> httpx.Client:
    install_log_redaction("httpx", "httpcore")  # their request logs carry the full, secret-bearing URL
    return httpx.Client(
        timeout=httpx.Timeout(read_timeout_s, connect=connect_timeout_s),
        headers={"User-Agent": user_agent, "Accept": ACCEPT, "Accept-Encoding": "gzip, deflate"},
        follow_redirects=False,
    )


class DeadlineExceeded(Exception):
    pass


class RedirectRefused(Exception):
    pass


def is_internal_host(host: str | None) -> bool:
    """Loopback, private, link-local or otherwise non-public: where a redirect must not take a public feed
    (it would make newswatch fetch from the machine's own network on a stranger's behalf)."""
    if not host:
        return True
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except (socket.gaierror, UnicodeError, OSError):
        return False  # unresolvable: the fetch itself will fail with a clear error
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if not ip.is_global or ip.is_loopback or ip.is_link_local or ip.is_private:
            return True
    return False


def fetch(client: httpx.Client, url: str, *, etag: str | None = None, last_modified: str | None = None,
          max_bytes: int = 10 * 1024 * 1024, max_redirects: int = 5, deadline_s: float = 60.0,
          allow_internal: bool = False, internal: Callable[[str | None], bool] = is_internal_host) -> FetchResult:
    """GET ``url`` with conditional headers; follows redirects itself to tell permanent ones apart. The whole
    fetch (redirects, headers, body) has a wall-clock budget: a server trickling one byte a second never
    resets a read timeout, so without it one feed would hold up the run. A redirect into loopback, private or
    link-local space is refused unless the configured URL is itself there or ``allow_internal`` is set."""
    started = time.perf_counter()
    deadline = started + deadline_s
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    current = url
    permanent = True
    try:
        for _ in range(max_redirects + 1):
            if time.perf_counter() > deadline:
                raise DeadlineExceeded(f"deadline: no answer within {deadline_s:g} s")
            with client.stream("GET", current, headers=headers) as response:
                if response.is_redirect and "location" in response.headers:
                    permanent = permanent and response.status_code in (301, 308)
                    target = response.url.join(response.headers["location"])
                    if not allow_internal and internal(target.host) and not internal(urlsplit(url).hostname):
                        raise RedirectRefused(f"refused redirect to an internal address ({target.host})")
                    current = str(target)
                    continue
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > max_bytes:
                    raise BodyTooLarge(f"body of {declared} bytes exceeds the {max_bytes}-byte cap")
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    if time.perf_counter() > deadline:
                        raise DeadlineExceeded(f"deadline: no complete body within {deadline_s:g} s")
                    size += len(chunk)
                    if size > max_bytes:
                        raise BodyTooLarge(f"body exceeds the {max_bytes}-byte cap")
                    chunks.append(chunk)
                now = datetime.now(UTC)
                result = FetchResult(
                    url=url, final_url=current, status=response.status_code,
                    headers={k.lower(): v for k, v in response.headers.items()}, body=b"".join(chunks),
                    elapsed_s=time.perf_counter() - started,
                    permanent_redirect=permanent and current != url,
                    retry_after=parse_retry_after(response.headers.get("retry-after"), now),
                )
                if response.status_code not in (200, 304):
                    result.error = f"HTTP {response.status_code} {response.reason_phrase}".strip()
                return result
        return FetchResult(url=url, final_url=current, status=None, error=f"more than {max_redirects} redirects",
                           elapsed_s=time.perf_counter() - started)
    except (BodyTooLarge, DeadlineExceeded, RedirectRefused) as exc:
        return FetchResult(url=url, final_url=current, status=None, error=str(exc),
                           elapsed_s=time.perf_counter() - started)
    except httpx.TimeoutException as exc:
        return FetchResult(url=url, final_url=current, status=None,
                           error=f"timeout: {type(exc).__name__}", elapsed_s=time.perf_counter() - started)
    except httpx.HTTPError as exc:
        reason = str(exc) or type(exc).__name__
        return FetchResult(url=url, final_url=current, status=None, error=f"network error: {reason}",
                           elapsed_s=time.perf_counter() - started)
