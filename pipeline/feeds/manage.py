"""Managing the feed list as a feed reader does: add (discovering a site's feed), remove, disable, enable,
import and export OPML.

The TOML file (``NEWSWATCH_FEEDS_FILE``) stays the one source of truth: it is what the ingest DAG and every
command read, it is reviewable and versionable, and credentials in URLs stay in it and nowhere else. These
functions edit it in place with tomlkit, keeping its comments and layout; the warehouse mirrors it at the next
plan (a removed feed becomes ``retired``, a disabled one ``disabled``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin
from xml.etree import ElementTree

import tomlkit

from pipeline.feeds.config import FeedConfig, FeedListError, load_feed_list
from pipeline.settings import Settings

FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+json", "application/json",
              "application/rdf+xml", "text/xml", "application/xml")


@dataclass(frozen=True, slots=True)
class Discovered:
    url: str  # the feed's own URL
    title: str | None  # its title, when the document has one


def _document(path: Path) -> tomlkit.TOMLDocument:
    if not path.exists():
        return tomlkit.document()
    try:
        return tomlkit.parse(path.read_text(encoding="utf-8"))
    except (tomlkit.exceptions.ParseError, UnicodeDecodeError) as exc:
        raise FeedListError(f"{path}: {exc}") from exc


def _save(path: Path, document: tomlkit.TOMLDocument) -> list[FeedConfig]:
    """Write the edited list, then read it back through the one validator (a bad edit never lands)."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(tomlkit.dumps(document), encoding="utf-8")
    try:
        feeds = load_feed_list(tmp)
    except FeedListError:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(path)
    return feeds


def _entries(document: tomlkit.TOMLDocument) -> Any:
    if "feeds" not in document:
        document["feeds"] = tomlkit.aot()
    return document["feeds"]


def _find(entries: Any, name: str) -> int:
    for index, entry in enumerate(entries):
        if str(entry.get("name", "")).strip().casefold() == name.strip().casefold():
            return index
    raise FeedListError(f"no feed named {name!r} in the feed list")


def add_feeds(path: Path, feeds: list[FeedConfig]) -> tuple[list[FeedConfig], list[FeedConfig]]:
    """Append feeds whose name and URL are both new; returns (added, skipped as already listed)."""
    document = _document(path)
    entries = _entries(document)
    names = {str(e.get("name", "")).strip().casefold() for e in entries}
    urls = {str(e.get("url", "")).strip() for e in entries}
    added, skipped = [], []
    for feed in feeds:
        if feed.name.casefold() in names or feed.url in urls:
            skipped.append(feed)
            continue
        table = tomlkit.table()
        table["name"], table["url"] = feed.name, feed.url
        if feed.language:
            table["language"] = feed.language
        if feed.tags:
            table["tags"] = list(feed.tags)
        entries.append(table)
        names.add(feed.name.casefold())
        urls.add(feed.url)
        added.append(feed)
    if added:
        _save(path, document)
    return added, skipped


def remove_feed(path: Path, name: str) -> FeedConfig:
    document = _document(path)
    entries = _entries(document)
    index = _find(entries, name)
    removed = next(f for f in load_feed_list(path) if f.name.casefold() == name.strip().casefold())
    del entries[index]
    _save(path, document)
    return removed


def set_enabled(path: Path, name: str, enabled: bool) -> FeedConfig:
    document = _document(path)
    entries = _entries(document)
    entry = entries[_find(entries, name)]
    if enabled:
        entry.pop("enabled", None)
    else:
        entry["enabled"] = False
    feeds = _save(path, document)
    return next(f for f in feeds if f.name.casefold() == name.strip().casefold())


def discover(url: str, body: bytes, content_type: str) -> Discovered:
    """The feed behind ``url``: the document itself when it is a feed, else the first feed its HTML page
    announces (``<link rel="alternate" type="application/rss+xml" href=...>``)."""
    import feedparser
    from selectolax.lexbor import LexborHTMLParser

    kind = content_type.split(";")[0].strip().lower()
    if "html" not in kind:
        parsed = feedparser.parse(body)
        if parsed.get("version") or parsed.entries:
            return Discovered(url, parsed.feed.get("title") or None)
    page = LexborHTMLParser(body.decode("utf-8", errors="replace"))
    for link in page.css("link[rel]"):
        rel = (link.attributes.get("rel") or "").lower().split()
        link_type = (link.attributes.get("type") or "").lower()
        href = link.attributes.get("href")
        if "alternate" in rel and link_type in FEED_TYPES and href:
            return Discovered(urljoin(url, href), link.attributes.get("title") or None)
    raise FeedListError(f"{url} is neither a feed nor a page that links to one (<link rel=\"alternate\" "
                        "type=\"application/rss+xml\">)")


def discover_feed(settings: Settings, url: str) -> Discovered:
    """Fetch ``url`` under the fetcher's limits (timeouts, size cap, deadline, redirect policy) and find the
    feed it is or announces."""
    from pipeline.feeds.fetch import fetch, make_client

    with make_client(settings.user_agent, settings.fetch_connect_timeout_s, settings.fetch_read_timeout_s) as client:
        result = fetch(client, url, max_bytes=settings.fetch_max_bytes, deadline_s=settings.fetch_deadline_s,
                       allow_internal=settings.fetch_allow_internal_redirects)
    if not result.ok:
        raise FeedListError(f"cannot fetch {url}: {result.error}")
    return discover(url, result.body, result.headers.get("content-type", ""))


def read_opml(text: str) -> list[FeedConfig]:
    """The feeds of an OPML subscription list (as readers export it); categories become tags."""
    import listparser

    result = listparser.parse(text)
    if result.bozo and not result.feeds:
        raise FeedListError(f"not an OPML subscription list: {result.get('bozo_exception')}")
    feeds, seen = [], set()
    for entry in result.feeds:
        url = str(entry.url or "").strip()
        if not url.startswith(("http://", "https://")):
            continue
        name = (entry.title or url).strip()
        if name.casefold() in seen:
            name = f"{name} ({url})"
        seen.add(name.casefold())
        tags = sorted({c for category in entry.categories for c in category if c} | set(entry.tags or ()))
        feeds.append(FeedConfig(name=name, url=url, tags=tuple(tags)))
    return feeds


def write_opml(feeds: list[FeedConfig], title: str = "newswatch feeds") -> str:
    """OPML 2.0, one ``<outline type="rss">`` per feed, grouped under its first tag as readers do."""
    root = ElementTree.Element("opml", version="2.0")
    ElementTree.SubElement(ElementTree.SubElement(root, "head"), "title").text = title
    body = ElementTree.SubElement(root, "body")
    groups: dict[str, ElementTree.Element] = {}
    for feed in feeds:
        parent = body
        if feed.tags:
            parent = groups.get(feed.tags[0]) or groups.setdefault(
                feed.tags[0], ElementTree.SubElement(body, "outline", text=feed.tags[0], title=feed.tags[0]))
        attributes = {"type": "rss", "text": feed.name, "title": feed.name, "xmlUrl": feed.url}
        if len(feed.tags) > 1:
            attributes["category"] = ",".join(feed.tags[1:])
        if feed.language:
            attributes["language"] = feed.language
        ElementTree.SubElement(parent, "outline", attributes)
    ElementTree.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(root, encoding="unicode") + "\n"
