"""Feed documents to normalised items: feedparser for RSS/Atom/RDF (given the response headers, so that
charset detection works), a small reader for JSON Feed 1.x, which feedparser does not handle."""

from __future__ import annotations

import calendar
import copy
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import feedparser
import feedparser.mixin
from feedparser.util import FeedParserDict

from pipeline.language import detect_language
from pipeline.models import Item
from pipeline.normalize import (
    article_id,
    canonical_url,
    clean_text,
    content_hash,
    html_to_text,
    parse_iso,
    sha256_hex,
)

FUTURE_TOLERANCE = timedelta(minutes=10)
# feedparser's HTML sanitizer and relative-URI resolution rewrite the markup of every title, summary and content
# value (a quarter of its parse time on the bench corpus); newswatch keeps no feed markup, only the text that
# html_to_text extracts with an HTML5 parser after dropping scripts, styles and embedded objects, and entry links
# are resolved against xml:base by feedparser either way. On the 404 documents of ../shared/feeds (1,682 items)
# the items' text came out the same but for two of feedparser's own sanitizer cases (an <object>'s fallback text,
# a stray "<>" in line noise).
_FEEDPARSER_OPTIONS: dict[str, Any] = {"sanitize_html": False, "resolve_relative_uris": False}


class _FlatCopies:
    """Stands in for the ``copy`` module inside feedparser's content handling while newswatch parses. For every
    title, summary and content value it stores, feedparser deep-copies the current content parameters (type,
    language, xml:base: strings), and a deep copy of a dict subclass is slow: 8-20 µs an item on the bench
    corpus, 6-15 % of feedparser's own time. A flat mapping of strings is copied flat, which gives the same
    value; anything else still gets a real deep copy."""

    @staticmethod
    def deepcopy(value: Any) -> Any:
        if type(value) is FeedParserDict and all(v is None or type(v) is str for v in value.values()):
            return FeedParserDict(value)
        return copy.deepcopy(value)


@contextmanager
def _flat_copies() -> Iterator[None]:
    """``_FlatCopies`` in place for one parse, so that feedparser elsewhere in the process (the bench's bare
    feedparser reference) is untouched. Two threads interleaving here can only leave either stand-in in place,
    and both copy alike."""
    saved = feedparser.mixin.copy
    feedparser.mixin.copy = _FlatCopies  # type: ignore[assignment]
    try:
        yield
    finally:
        feedparser.mixin.copy = saved


_XML_DECLARATION = re.compile(rb"<\?xml[^>]*?\?>")
_DECLARED_ENCODING = re.compile(rb"encoding\s*=\s*[\"']([\w.:-]+)[\"']")
_TAG = re.compile(rb"<(/?)([A-Za-z_][\w.-]*):([A-Za-z_][\w.-]*)")
_NAMESPACE_DECLARATION = re.compile(rb"xmlns:([A-Za-z_][\w.-]*)\s*=")
_UNQUOTED_ATTRIBUTE = re.compile(rb"(<[^<>]*?\s[\w:.-]+)=([^\s\"'<>]+)(?=[\s/>])")


_SINGLE_BYTE_CHARSETS = re.compile(rb"^(us-ascii|ascii|iso-8859-\d+|latin-?1|windows-125\d|cp125\d)$", re.I)
_CHARSET_PARAM = re.compile(r";\s*charset\s*=\s*[\"']?[\w.:-]+[\"']?", re.I)


def prefer_real_utf8(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    """A document that declares a single-byte charset but is valid UTF-8 with multi-byte characters is
    UTF-8 in practice (decoding it as Latin-1 would turn "é" into "Ã©"): declare it as such."""
    declared_header = re.search(r"charset\s*=\s*[\"']?([\w.:-]+)", headers.get("content-type", ""), re.I)
    declared_xml = _DECLARED_ENCODING.search(body[:500])
    declared = [d for d in (declared_header and declared_header.group(1).encode(),
                            declared_xml and declared_xml.group(1)) if d]
    if not declared or not all(_SINGLE_BYTE_CHARSETS.match(d) for d in declared) or body.isascii():
        return body, headers
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return body, headers
    fixed_headers = dict(headers)
    if "content-type" in fixed_headers:
        fixed_headers["content-type"] = _CHARSET_PARAM.sub("", fixed_headers["content-type"]) + "; charset=utf-8"
    if declared_xml:
        start, end = declared_xml.span(1)
        body = body[:start] + b"utf-8" + body[end:]
    return body, fixed_headers


def repair_markup(body: bytes) -> bytes:
    """Undo common publisher mistakes that leave strict XML parsers with nothing: a mangled or repeated
    XML declaration, element names with an undeclared namespace prefix (``<rss:item>``), and unquoted
    attribute values. Used only when a document yielded no entries."""
    encoding = _DECLARED_ENCODING.search(body[:500])
    repaired = _XML_DECLARATION.sub(b"", body).lstrip()
    declared = set(_NAMESPACE_DECLARATION.findall(repaired)) | {b"xml"}
    repaired = _TAG.sub(lambda m: m.group(0) if m.group(2) in declared else b"<" + m.group(1) + m.group(3),
                        repaired)
    previous = None
    while previous != repaired:  # one attribute per pass and tag
        previous = repaired
        repaired = _UNQUOTED_ATTRIBUTE.sub(rb'\1="\2"', repaired)
    prolog = b'<?xml version="1.0" encoding="' + (encoding.group(1) if encoding else b"utf-8") + b'"?>\n'
    return prolog + repaired


@dataclass(slots=True)
class ParsedFeed:
    items: list[Item] = field(default_factory=list)
    title: str | None = None
    ttl_minutes: int | None = None
    warning: str | None = None  # recoverable problem, items were still found
    error: str | None = None  # nothing usable: recorded as a feed error


def _struct_to_dt(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    except (OverflowError, ValueError, TypeError):
        return None


def _iso_to_dt(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    # JSON Feed dates are ISO 8601; others get the same lenient date parser feedparser uses
    return parse_iso(value) or _struct_to_dt(feedparser._parse_date(value))


def _dates(published: datetime | None, updated: datetime | None, fetched_at: datetime,
           flags: list[str]) -> tuple[datetime, datetime | None]:
    when = published or updated
    if when is None:
        flags.append("date_missing_fetch_time_used")
        return fetched_at, updated
    if when > fetched_at + FUTURE_TOLERANCE:
        flags.append("date_in_future_clamped")
        return fetched_at, updated
    return when, updated


# Limits per body and per item, so memory follows the number of bodies in a chunk, not what one body holds: a
# real feed carries tens to hundreds of entries and an article a few tens of kilobytes.
MAX_ITEMS_PER_BODY = 2_000
MAX_TITLE_HTML = 2_000
MAX_TEXT_HTML = 200_000


def _capped_note(total: int) -> str | None:
    if total <= MAX_ITEMS_PER_BODY:
        return None
    return f"{total - MAX_ITEMS_PER_BODY} entries beyond the {MAX_ITEMS_PER_BODY}-entry cap per body were dropped"


def build_item(*, source_id: str, source_name: str, guid: str | None, link: str | None, title_html: str,
               summary_html: str, content_html: str, author: str | None, tags: list[str],
               published: datetime | None, updated: datetime | None, language_hint: str | None,
               fetched_at: datetime, raw: dict[str, Any]) -> Item:
    flags: list[str] = []
    title_html, summary_html, content_html = (title_html[:MAX_TITLE_HTML], summary_html[:MAX_TEXT_HTML],
                                              content_html[:MAX_TEXT_HTML])
    title = html_to_text(title_html).replace("\n", " ")
    summary = html_to_text(summary_html)
    body = html_to_text(content_html) if content_html else summary
    url = link.strip() if link else None
    canon = canonical_url(url)
    identity = (guid or "").strip() or canon or sha256_hex(title, summary)
    published_at, updated_at = _dates(published, updated, fetched_at, flags)
    return Item(
        article_id=article_id(source_id, identity), source_kind="feed", source_id=source_id,
        source_name=source_name, guid=(guid or "").strip() or None, url=url, canonical_url=canon,
        title=title, summary=summary, summary_html=summary_html or None, body=body,
        author=clean_text(author) or None, tags=tags, content_hash=content_hash(title, body),
        published_at=published_at, published_precision="second", updated_at=updated_at,
        language=detect_language(f"{title}. {summary}", language_hint), flags=flags, raw=raw,
    )


def _looks_like_json(body: bytes, headers: dict[str, str]) -> bool:
    content_type = headers.get("content-type", "").lower()
    return "json" in content_type or body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"


_ENTITY_DECLARATION = re.compile(rb"<!ENTITY", re.I)
_PROLOG_BYTES = 64 * 1024


def declares_entities(body: bytes) -> bool:
    """An internal DTD with entity declarations before the root element: the strict parser refuses it, but the
    lenient fallback would expand a "billion laughs" or a quadratic blow-up into gigabytes. Checked on the
    prolog (also in UTF-16) before any parser sees the body."""
    head = body[:_PROLOG_BYTES]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        head = head.decode("utf-16", errors="ignore").encode("utf-8", errors="ignore")
    return bool(_ENTITY_DECLARATION.search(head.replace(b"\x00", b"")))


def parse_feed(body: bytes, headers: dict[str, str], *, source_id: str, source_name: str,
               language_hint: str | None, fetched_at: datetime) -> ParsedFeed:
    """Every entry of a feed document as an item; never raises for bad input."""
    if _looks_like_json(body, headers):
        return _parse_json_feed(body, source_id=source_id, source_name=source_name,
                                language_hint=language_hint, fetched_at=fetched_at)
    if declares_entities(body):
        return ParsedFeed(error="refused: the document declares XML entities (<!ENTITY>), an entity-expansion "
                                "risk no real feed needs")
    body, headers = prefer_real_utf8(body, headers)
    try:
        with _flat_copies():
            parsed = feedparser.parse(body, response_headers=headers, **_FEEDPARSER_OPTIONS)
            repaired_note = None
            if parsed.get("bozo") and not parsed.entries:
                second = feedparser.parse(repair_markup(body), response_headers=headers, **_FEEDPARSER_OPTIONS)
                if second.entries:
                    repaired_note = f"recovered malformed XML ({type(parsed.bozo_exception).__name__})"
                    parsed = second
    except Exception as exc:  # feedparser is meant not to raise; a crash is still one feed's error
        return ParsedFeed(error=f"parser crashed: {type(exc).__name__}: {exc}")
    result = ParsedFeed(title=html_to_text(parsed.feed.get("title", "")) or None)
    ttl = parsed.feed.get("ttl")
    if isinstance(ttl, str) and ttl.strip().isdigit():
        result.ttl_minutes = int(ttl.strip())
    language = parsed.feed.get("language") or language_hint
    capped = _capped_note(len(parsed.entries))
    for entry in parsed.entries[:MAX_ITEMS_PER_BODY]:
        content = entry.get("content") or []
        content_html = max((c.get("value", "") for c in content), key=len, default="")
        raw = {k: entry.get(k) for k in ("id", "link", "title", "summary", "author", "published", "updated")}
        media = [m.get("url") for m in entry.get("media_content", []) if m.get("url")]
        if media:
            raw["media"] = media
        if content_html:
            raw["content"] = content_html[:20000]
        result.items.append(build_item(
            source_id=source_id, source_name=source_name, guid=entry.get("id"), link=entry.get("link"),
            title_html=entry.get("title", ""), summary_html=entry.get("summary", ""),
            content_html=content_html, author=entry.get("author"),
            tags=[t.get("term") for t in entry.get("tags", []) if t.get("term")],
            published=_struct_to_dt(entry.get("published_parsed")),
            updated=_struct_to_dt(entry.get("updated_parsed")),
            language_hint=entry.get("language") or language, fetched_at=fetched_at, raw=raw,
        ))
    if parsed.get("bozo"):
        problem = f"{type(parsed.bozo_exception).__name__}: {parsed.bozo_exception}"
        if result.items:
            result.warning = "; ".join(filter(None, [repaired_note, problem]))
        else:
            result.error = f"no entries; parse error {problem}"
    elif repaired_note:
        result.warning = repaired_note
    elif not result.items:
        result.error = ("no entries in the document" if parsed.get("version")
                        else "not a feed: no RSS, Atom, RDF or JSON Feed document found")
    if capped and not result.error:
        result.warning = "; ".join(filter(None, [result.warning, capped]))
    return result


def _text(value: Any) -> str:
    """A JSON Feed string field as text: numbers are written out, anything else (lists, objects) is dropped."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def _parse_json_feed(body: bytes, *, source_id: str, source_name: str, language_hint: str | None,
                     fetched_at: datetime) -> ParsedFeed:
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
        return ParsedFeed(error=f"invalid JSON Feed: {str(exc)[:200]}")
    if not isinstance(data, dict) or not _text(data.get("version")).startswith("https://jsonfeed.org/"):
        return ParsedFeed(error="JSON document is not a JSON Feed (no jsonfeed.org version)")
    result = ParsedFeed(title=_text(data.get("title")) or None)
    language = _text(data.get("language")) or language_hint
    entries = data.get("items") if isinstance(data.get("items"), list) else []
    capped = _capped_note(len(entries))
    skipped = 0
    for entry in entries[:MAX_ITEMS_PER_BODY]:
        if not isinstance(entry, dict):
            skipped += 1
            continue
        try:
            result.items.append(_json_feed_item(entry, source_id=source_id, source_name=source_name,
                                                language=language, fetched_at=fetched_at))
        except (TypeError, ValueError, AttributeError, RecursionError):  # one malformed item, not the feed
            skipped += 1
    notes = [f"{skipped} malformed JSON Feed item(s) skipped" if skipped else None, capped]
    result.warning = "; ".join(filter(None, notes)) or None
    return result


def _json_feed_item(entry: dict[str, Any], *, source_id: str, source_name: str, language: str | None,
                    fetched_at: datetime) -> Item:
    raw_authors = entry.get("authors") if isinstance(entry.get("authors"), list) else []
    authors = raw_authors or ([entry["author"]] if isinstance(entry.get("author"), dict) else [])
    author = ", ".join(_text(a.get("name")) for a in authors if isinstance(a, dict)) or None
    content_html = _text(entry.get("content_html"))
    summary_html = _text(entry.get("summary"))
    content_text = _text(entry.get("content_text"))
    if not summary_html and not content_html:
        summary_html = content_text
    tags = entry.get("tags") if isinstance(entry.get("tags"), list) else []
    return build_item(
        source_id=source_id, source_name=source_name, guid=_text(entry.get("id")) or None,
        link=_text(entry.get("url")) or _text(entry.get("external_url")) or None,
        title_html=_text(entry.get("title")), summary_html=summary_html, content_html=content_html or content_text,
        author=author, tags=[_text(t) for t in tags if _text(t)],
        published=_iso_to_dt(entry.get("date_published")), updated=_iso_to_dt(entry.get("date_modified")),
        language_hint=_text(entry.get("language")) or language, fetched_at=fetched_at,
        raw={k: _text(entry.get(k)) for k in ("id", "url", "title", "summary", "date_published")},
    )
