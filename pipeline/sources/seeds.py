"""Seed documents: plain-text articles scraped from the web, with the quirks that come with them.

A seed may open with a date marker (`` date 2024-11-05 (MENAFN) As the ...`` or `` date 2024-02 Share:``),
may have no date at all, and may carry share-button debris, photo captions and runs of blank lines.
"""

from __future__ import annotations

import re
import stat
from datetime import UTC, datetime
from pathlib import Path

from pipeline.language import detect_language
from pipeline.models import DatePrecision, Item
from pipeline.normalize import article_id, clean_text, content_hash, derive_title

SOURCE_ID = "seeds"
MAX_SEED_BYTES = 2 * 1024 * 1024  # a long report is ~100 KB of text; anything far larger is not an article
_DATE_MARKER = re.compile(r"^\s*date\s+(?P<year>\d{4})-(?P<month>\d{2})(?:-(?P<day>\d{2}))?\b\s*")
_DATELINE = re.compile(r"^\((?:[A-Z][A-Za-z&.\- ]{1,30})\)\s*")
_DEBRIS_LINE = re.compile(r"^(share|share this|share:|print|email|tweet|advertisement|read more)\s*:?\s*$", re.I)
_CAPTION_LINE = re.compile(r"^[^.!?]{0,120}\((?:photo|image|picture|foto)\s*:[^)]*\)\s*$", re.I)
_TRAILER_LINE = re.compile(r"^[—–-]\s*[\w .]{2,40}$")
# where a scraped article names its source: "(MENAFN) ...", "KYIV (Reuters) - ...", "... — AFP", "Source: ..."
_LEADING_AGENCY = re.compile(r"^(?:[A-Z][A-Z .,'/-]{1,40}\s)?\((?P<name>[A-Z][A-Za-z&.\- ]{1,30})\)\s*[-–—:]?\s")
_TRAILING_AGENCY = re.compile(r"[—–]\s*(?P<name>Agencies|AFP|Reuters|AP|dpa|PAP|ANSA|EFE|Ukrinform|BNS|LETA)\s*$")
_SOURCE_LINE = re.compile(r"^\s*(?:source|quelle|źródło)\s*:\s*(?P<name>[^\n]{2,40}?)\s*$", re.I | re.M)
SEED_SOURCE_NAME = "Seed document"
SEED_HEADLINE_CHARS = 220  # a lead sentence kept whole up to this length, cut at a clause beyond it


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


def seed_source_name(text: str) -> str:
    """The outlet or agency a seed names for itself (its dateline, a closing credit or a "Source:" line),
    else "Seed document": readers need a source, not a file name."""
    lead = text.lstrip()[:200]
    for pattern, where in ((_LEADING_AGENCY, lead), (_TRAILING_AGENCY, text.rstrip()[-80:]),
                           (_SOURCE_LINE, text[-2000:])):
        match = pattern.search(where)
        if match and match["name"].strip().lower() not in {"photo", "image", "foto", "picture"}:
            return match["name"].strip()
    return SEED_SOURCE_NAME


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


def decode_seed(data: bytes) -> tuple[str, str]:
    """Text and the encoding it was read with: UTF-8 (with or without BOM), else what charset-normalizer finds
    (Latin-1, Windows-1250, UTF-16 with BOM, ...). Raises UnreadableSeed for binary content."""
    if b"\x00" in data[:8192] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UnreadableSeed("binary file (NUL bytes), not text")
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise UnreadableSeed("binary file: no text encoding fits")
    return str(best), best.encoding


class UnreadableSeed(ValueError):
    """A file in the seeds folder that must not be read as an article; the message is the quarantine reason."""


def check_seed_file(path: Path, root: Path) -> None:
    """Regular files only, inside the seeds folder (symlinks too), within the size cap: a FIFO would block the
    run forever, a link could expose /etc/passwd, a 100 MB file would be stored whole."""
    target = path.resolve()
    if not target.is_relative_to(root):
        raise UnreadableSeed(f"link pointing outside the seeds folder ({path.name})")
    mode = target.stat().st_mode
    if not stat.S_ISREG(mode):
        kind = "directory" if stat.S_ISDIR(mode) else "FIFO" if stat.S_ISFIFO(mode) else "special file"
        raise UnreadableSeed(f"not a regular file: a {kind}")
    size = target.stat().st_size
    if size > MAX_SEED_BYTES:
        raise UnreadableSeed(f"{size} bytes, over the {MAX_SEED_BYTES}-byte cap for a seed document")


def rejected_seed(path: Path, reason: str) -> Item:
    """An unreadable seed as an empty article flagged ``source_unreadable``: validation quarantines it with
    the reason kept, so nothing disappears silently."""
    return Item(article_id=article_id(SOURCE_ID, path.name), source_kind="seed", source_id=SOURCE_ID,
                source_name=path.name, guid=path.name, title="", summary="", body="",
                content_hash=content_hash("", ""), published_at=None, published_precision="unknown",
                flags=["source_unreadable"], raw={"file": path.name, "reason": reason})


def parse_seed(path: Path) -> Item:
    """One seed file as an article: derived title, cleaned body, date with its precision."""
    raw, encoding = decode_seed(path.read_bytes())
    published_at, precision, rest = split_date_marker(raw)
    body = clean_seed_body(rest)
    title = derive_title(body, max_len=SEED_HEADLINE_CHARS)
    return Item(
        article_id=article_id(SOURCE_ID, path.name),
        source_kind="seed",
        source_id=SOURCE_ID,
        source_name=seed_source_name(rest),
        guid=path.name,
        title=title,
        summary=_lead(body),
        body=body,
        content_hash=content_hash(title, body),
        published_at=published_at,
        published_precision=precision,
        language=detect_language(body),
        flags=[] if published_at else ["date_unknown"],
        raw={"file": path.name, "text": raw, "encoding": encoding},
    )


def _lead(body: str, max_len: int = 400) -> str:
    paragraph = body.split("\n\n", 1)[0]
    if len(paragraph) <= max_len:
        return paragraph
    return paragraph[:max_len].rsplit(" ", 1)[0] + "…"


def load_seeds(seeds_dir: Path) -> list[Item]:
    """Every ``*.txt`` seed document in ``seeds_dir``, in name order; unreadable ones as flagged empty items."""
    root = seeds_dir.resolve()
    items = []
    for path in sorted(seeds_dir.glob("*.txt")):
        try:
            check_seed_file(path, root)
            items.append(parse_seed(path))
        except (UnreadableSeed, OSError) as exc:
            items.append(rejected_seed(path, str(exc)))
    return items
