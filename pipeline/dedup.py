"""Same-article detection (layer 1): an item whose normalised content, canonical URL or normalised title
(within a time window) matches an earlier article is recorded as its duplicate, never thrown away."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from pipeline.models import Item
from pipeline.normalize import title_key

TITLE_WINDOW = timedelta(days=3)
_MIN_TITLE_KEY_WORDS = 5


@dataclass(frozen=True, slots=True)
class KnownArticle:
    article_id: str
    story_id: str | None
    content_hash: str
    canonical_url: str | None
    title_key: str | None
    seen_at: datetime | None


@dataclass(frozen=True, slots=True)
class DuplicateMatch:
    original_id: str
    story_id: str | None
    reason: str  # content_hash | canonical_url | title


class SameArticleIndex:
    """Lookup of known articles by content hash, canonical URL and normalised title."""

    def __init__(self, known: Iterable[KnownArticle] = ()) -> None:
        self._by_hash: dict[str, KnownArticle] = {}
        self._by_url: dict[str, KnownArticle] = {}
        self._by_title: dict[str, KnownArticle] = {}
        for article in known:
            self.add(article)

    def add(self, article: KnownArticle) -> None:
        self._by_hash.setdefault(article.content_hash, article)
        if article.canonical_url:
            self._by_url.setdefault(article.canonical_url, article)
        if article.title_key and len(article.title_key.split()) >= _MIN_TITLE_KEY_WORDS:
            self._by_title.setdefault(article.title_key, article)

    def match(self, item: Item) -> DuplicateMatch | None:
        for reason, found in (
            ("content_hash", self._by_hash.get(item.content_hash)),
            ("canonical_url", self._by_url.get(item.canonical_url) if item.canonical_url else None),
            ("title", self._title_match(item)),
        ):
            if found is not None and found.article_id != item.article_id:
                return DuplicateMatch(found.article_id, found.story_id or found.article_id, reason)
        return None

    def _title_match(self, item: Item) -> KnownArticle | None:
        found = self._by_title.get(title_key(item.title))
        if found is None:
            return None
        if found.seen_at is None or item.published_at is None:
            return found
        return found if abs(found.seen_at - item.published_at) <= TITLE_WINDOW else None


def find_duplicates(items: list[Item], index: SameArticleIndex,
                    existing_ids: Mapping[str, str]) -> dict[str, DuplicateMatch]:
    """For each new item (not already in the warehouse), the earlier article it duplicates, if any.

    Items are taken in order, so the first of several identical new items is the original."""
    duplicates: dict[str, DuplicateMatch] = {}
    for item in items:
        if item.article_id in existing_ids:
            continue
        match = index.match(item)
        if match is not None:
            duplicates[item.article_id] = match
        index.add(KnownArticle(
            article_id=item.article_id,
            story_id=match.story_id if match else item.article_id,
            content_hash=item.content_hash,
            canonical_url=item.canonical_url,
            title_key=title_key(item.title),
            seen_at=item.published_at,
        ))
    return duplicates
