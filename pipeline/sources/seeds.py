"""Seed documents: plain-text articles scraped from the web, with the quirks that come with them.

A seed may open with a date marker (`` date 2024-11-05 (MENAFN) As the ...`` or `` date 2024-02 Share:``),
may have no date at all, and may carry share-button debris, photo captions and runs of blank lines.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from pipeline.language import detect_language
from pipeline.models import DatePrecision, Item
from pipeline.normalize import article_id, clean_text, content_hash, derive_title

SOURCE_ID = "seeds"
_DATE_MARKER = re.compile(r"^\s*date\s+(?P<year>\d{4})-(?P<month>\d{2})(?:-(?P<day>\d{2}))?\b\s*")
_DATELINE = re.compile(r"^\((?:[A-Z][A-Za-z&.\- ]{1,30})\)\s*")
_DEBRIS_LINE = re.compile(r"^(share|share this|share:|print|email|tweet|advertisement|read more)\s*:?\s*$", re.I)
_CAPTION_LINE = re.compile(r"^[^.!?]{0,120}\((?:photo|image|picture|foto)\s*:[^)]*\)\s*$", re.I)
_TRAILER_LINE = re.compile(r"^[—–-]\s*[\w .]{2,40}$")


def split_date_marker(text: str) -> tuple[datetime | None, DatePrecision, str]:
    """The date marker at the top of a seed, its precision, and the text after it.

    A month-only date becomes the first of that month with precision ``month``; no day is invented."""
    match = _DATE_MARKER.match(text)
    if not match:
        return None, "unknown", text
    year, month, day = int(match["year"]), int(match["month"]), match["day"]
    try:
        if day is None:
            return datetime(year, month, 1, tzinfo=UTC), "month", text[match.end():]
        return datetime(year, month, int(day), tzinfo=UTC), "day", text[match.end():]
    except ValueError:
        return None, "unknown", text[match.end():]


def clean_seed_body(text: str) -> str:
    """Drop share debris, photo captions and trailing agency credits; fold blank-line runs."""
    kept: list[str] = []
    for raw_line in clean_text(text).split("\n"):
        line = _DATELINE.sub("", raw_line) if not kept else raw_line
        inline_debris = re.match(r"^(share|print)\s*:\s*", line, re.I)
        if inline_debris:
            line = line[inline_debris.end():]
        if _DEBRIS_LINE.match(line) or _CAPTION_LINE.match(line):
            continue
        kept.append(line)
    body = clean_text("\n".join(kept))
    body = re.sub(r"\s*[—–]\s*(Agencies|AFP|Reuters|AP|dpa)\s*$", "", body)
    return body


def parse_seed(path: Path) -> Item:
    """One seed file as an article: derived title, cleaned body, date with its precision."""
    raw = path.read_text(encoding="utf-8-sig", errors="replace")
    published_at, precision, rest = split_date_marker(raw)
    body = clean_seed_body(rest)
    title = derive_title(body)
    return Item(
        article_id=article_id(SOURCE_ID, path.name),
        source_kind="seed",
        source_id=SOURCE_ID,
        source_name=path.name,
        guid=path.name,
        title=title,
        summary=_lead(body),
        body=body,
        content_hash=content_hash(title, body),
        published_at=published_at,
        published_precision=precision,
        language=detect_language(body),
        flags=[] if published_at else ["date_unknown"],
        raw={"file": path.name, "text": raw},
    )


def _lead(body: str, max_len: int = 400) -> str:
    paragraph = body.split("\n\n", 1)[0]
    if len(paragraph) <= max_len:
        return paragraph
    return paragraph[:max_len].rsplit(" ", 1)[0] + "…"


def load_seeds(seeds_dir: Path) -> list[Item]:
    """Every ``*.txt`` seed document in ``seeds_dir``, in name order."""
    return [parse_seed(path) for path in sorted(seeds_dir.glob("*.txt"))]
