"""Small typed objects passed between stages."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

import msgspec

SourceKind = Literal["seed", "feed"]
DatePrecision = Literal["second", "day", "month", "unknown"]


@dataclass(slots=True)
class Item:
    """One article candidate, normalised, before validation and loading."""

    article_id: str
    source_kind: SourceKind
    source_id: str
    source_name: str
    title: str
    summary: str
    body: str
    content_hash: str
    published_at: datetime | None
    published_precision: DatePrecision
    url: str | None = None
    canonical_url: str | None = None
    guid: str | None = None
    summary_html: str | None = None
    author: str | None = None
    tags: list[str] = field(default_factory=list)
    updated_at: datetime | None = None
    language: str | None = None
    flags: list[str] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)
    # precomputed by the parse workers: ``StoryDoc.packed_features``, stored as the article's signature unchanged
    story_features: bytes | None = None
    relevance: Relevance | None = None  # the classifier's verdict, when the parse workers computed it


# a summary cut short by its feed: "... The…", "... [...]", "... [&hellip;]" once unescaped
_CUT_SHORT = re.compile(r"\s*(?:\[\s*(?:…|\.\.\.)\s*\]|…|\.\.\.)$")


def classified_text(summary: str | None, body: str | None) -> str:
    """The text an item is judged on: its summary and its body, each once. A feed's body often is its summary
    (or begins with it, the summary often cut short with an ellipsis): read twice, it doubled classification's
    cost and every term's count, took the room of the body's lead, and the model is trained on one text per
    item."""
    summary, body = (summary or "").strip(), (body or "").strip()
    if not body or summary.startswith(body):
        return summary
    if not summary or body.startswith(_CUT_SHORT.sub("", summary)):
        return body
    return f"{summary}\n{body}"


@dataclass(slots=True, frozen=True)
class Relevance:
    """A classifier's verdict on one item."""

    score: float
    label: int
    topics: tuple[str, ...]
    evidence: tuple[dict[str, Any], ...]
    version: str

    def __reduce__(self) -> tuple[type[Relevance], tuple[Any, ...]]:
        # pickled as its constructor's arguments: every parse-pool verdict crosses to the main process, and the
        # generated state functions of a frozen slotted dataclass look up its fields on each call (~1 µs each way)
        return Relevance, (self.score, self.label, self.topics, self.evidence, self.version)


def evidence_json(verdict: Relevance) -> str:
    """A verdict's evidence as stored (a JSON array): msgspec writes it about ten times faster than json.dumps,
    which a load of many new articles noticed."""
    return msgspec.json.encode(verdict.evidence).decode()


@dataclass(frozen=True, slots=True)
class KnownArticle:
    """An original article (not a duplicate) already in the warehouse or earlier in the batch."""

    article_id: str
    story_id: str | None
    content_hash: str
    canonical_url: str | None


def item_to_json(item: Item) -> dict[str, Any]:
    """An item as kept whole in quarantine (story features are derived and recomputed on replay)."""
    data = asdict(item)
    data.pop("story_features", None)
    data.pop("relevance", None)
    for key in ("published_at", "updated_at"):
        if data[key] is not None:
            data[key] = data[key].isoformat()
    return data


def item_from_json(data: dict[str, Any]) -> Item:
    data = dict(data)
    for key in ("published_at", "updated_at"):
        if data.get(key):
            data[key] = datetime.fromisoformat(data[key])
    return Item(**data)


@dataclass(slots=True)
class IngestSummary:
    run_id: str
    kind: str = "ingest"
    items_seen: int = 0
    loaded: int = 0
    updated: int = 0
    duplicates: int = 0
    quarantined: int = 0
    relevant: int = 0
    feeds_ok: int = 0
    feeds_failed: int = 0
    feeds_skipped: int = 0
    feed_errors: list[dict[str, str]] = field(default_factory=list)
    feed_warnings: list[dict[str, str]] = field(default_factory=list)
    validation_warnings: int = 0
    gate_failures: list[dict[str, Any]] = field(default_factory=list)
    validation: str = ""
    stage_seconds: dict[str, float] = field(default_factory=dict)
    abandoned_runs: list[str] = field(default_factory=list)  # killed runs this one found and took over
    validation_reports: list[str] = field(default_factory=list)  # GX Data Docs pages written by this run

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def counters(self) -> dict[str, int]:
        return {"items_seen": self.items_seen, "loaded": self.loaded, "updated": self.updated,
                "duplicates": self.duplicates, "quarantined": self.quarantined, "feeds_ok": self.feeds_ok,
                "feeds_failed": self.feeds_failed}

    @property
    def accounted(self) -> bool:
        return self.items_seen == self.loaded + self.updated + self.duplicates + self.quarantined
