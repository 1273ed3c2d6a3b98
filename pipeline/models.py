"""Small typed objects passed between stages."""

from __future__ import annotations

from dataclasses import dataclass, field
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
