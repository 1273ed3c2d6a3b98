"""Deduplication and story assignment.

Layer 1 (same article): the same canonical URL or the same normalised content as an earlier article, or the
same normalised title under the rules of ``stories.same_article``. Layer 2 (same story): ``stories.StoryIndex``.
A duplicate is recorded as a member of the original's story, with its own source and url; nothing is dropped.
Items are assigned in the order given, so the result is deterministic and a replay changes nothing."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from pipeline.models import Item, KnownArticle
from pipeline.stories import StoryDoc, StoryIndex, story_doc, story_vectors


@dataclass(frozen=True, slots=True)
class Assignment:
    story_id: str
    duplicate_of: str | None
    reason: str  # new | content_hash | canonical_url | title | story


class SameArticleIndex:
    """Exact lookups of known articles by content hash and canonical URL."""

    def __init__(self, known: Iterable[KnownArticle] = ()) -> None:
        self._by_hash: dict[str, KnownArticle] = {}
        self._by_url: dict[str, KnownArticle] = {}
        for article in known:
            self.add(article)

    def add(self, article: KnownArticle) -> None:
        self._by_hash.setdefault(article.content_hash, article)
        if article.canonical_url:
            self._by_url.setdefault(article.canonical_url, article)

    def match(self, item: Item) -> tuple[KnownArticle, str] | None:
        for reason, found in (("content_hash", self._by_hash.get(item.content_hash)),
                              ("canonical_url", self._by_url.get(item.canonical_url) if item.canonical_url else None)):
            if found is not None and found.article_id != item.article_id:
                return found, reason
        return None


def item_story_docs(items: Sequence[Item], now: datetime) -> list[StoryDoc]:
    """Each item's story features (precomputed by the parse workers, or computed here with their embeddings in
    one batch); ``now`` stands in for a missing publication time."""
    fresh = [item for item in items if item.story_features is None]
    vectors = iter(story_vectors([(i.title, i.summary or i.body or "") for i in fresh]))
    docs = []
    for item in items:
        seen_at = item.published_at or now
        if item.story_features is not None:
            docs.append(StoryDoc.from_packed(item.article_id, item.article_id, seen_at, item.story_features))
        else:
            docs.append(story_doc(item.article_id, item.title, item.summary or item.body, seen_at, item.language,
                                  site=site_of(item.canonical_url or item.url), vector=next(vectors)))
    return docs


def site_of(url: str | None) -> str:
    """The publishing site (host without www.), for telling syndication from independent reports."""
    host = urlsplit(url or "").hostname or ""
    return host.removeprefix("www.")


def assign_stories(items: list[Item], same_articles: SameArticleIndex, stories: StoryIndex,
                   now: datetime) -> tuple[dict[str, Assignment], list[StoryDoc]]:
    """Story and duplicate assignment for new items, in order; also returns their story features."""
    assignments: dict[str, Assignment] = {}
    docs: list[StoryDoc] = []
    for item, doc in zip(items, item_story_docs(items, now), strict=True):
        exact = same_articles.match(item)
        if exact is not None:
            original, reason = exact
            assignment = Assignment(original.story_id or original.article_id, original.article_id, reason)
        else:
            match = stories.match(doc)
            if match is None:
                assignment = Assignment(item.article_id, None, "new")
            else:
                assignment = Assignment(match.story_id, match.duplicate_of,
                                        "title" if match.duplicate_of else "story")
        doc.story_id = assignment.story_id
        assignments[item.article_id] = assignment
        same_articles.add(KnownArticle(item.article_id, assignment.story_id, item.content_hash, item.canonical_url))
        stories.add(doc)
        docs.append(doc)
    return assignments, docs
