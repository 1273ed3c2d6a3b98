"""Small typed objects passed between stages."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

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
    story_features: dict[str, Any] | None = None  # precomputed by the parse workers (see stories.story_doc)


@dataclass(slots=True, frozen=True)
class Relevance:
    """A classifier's verdict on one item."""

    score: float
    label: int
    topics: tuple[str, ...]
    evidence: tuple[dict[str, Any], ...]
    version: str


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
