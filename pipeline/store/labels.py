"""Analyst labels: store judgements, read the current one per article (with its text, for training)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from pipeline.models import classified_text
from pipeline.store.connection import Connection


@dataclass(frozen=True, slots=True)
class NewLabel:
    article_id: str
    label: int
    note: str | None = None


@dataclass(frozen=True, slots=True)
class LabelledArticle:
    article_id: str
    label: int
    title: str
    text: str
    language: str | None
    source_name: str
    published: datetime | None = None  # published, else ingested: groups a week's news in time-grouped CV


class LabelStore:
    def __init__(self, con: Connection) -> None:
        self._con = con

    def add(self, labels: list[NewLabel], labelled_by: str, now: datetime) -> int:
        """Append the judgements with the stored verdict of the classifier at this moment (in the caller's
        transaction)."""
        for entry in labels:
            self._con.execute(
                "INSERT INTO labels SELECT ?, article_id, ?, ?, ?, ?, classifier_version, relevance_label "
                "FROM articles WHERE article_id = ?",
                [uuid.uuid4().hex, entry.label, entry.note, labelled_by, now, entry.article_id])
        return len(labels)

    def current(self) -> list[LabelledArticle]:
        """The newest judgement per article, with the article's text, oldest article first."""
        rows = self._con.execute(
            """
            SELECT l.article_id, arg_max(l.label, l.labelled_at), any_value(a.title),
                   any_value(a.summary), any_value(a.body), any_value(a.language), any_value(a.source_name),
                   any_value(coalesce(a.published_at, a.ingested_at))
            FROM labels l JOIN articles a USING (article_id)
            GROUP BY l.article_id ORDER BY l.article_id
            """).fetchall()
        return [LabelledArticle(r[0], r[1], r[2], classified_text(r[3], r[4]), r[5], r[6], r[7])
                for r in rows]
