"""Articles as the relevance stage sees them: read texts in chunks, write new verdicts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import duckdb
import pyarrow as pa

from pipeline.models import Relevance


@dataclass(frozen=True, slots=True)
class StoredVerdict:
    article_id: str
    story_id: str | None
    title: str
    text: str
    label: int | None


def verdict_chunks(con: duckdb.DuckDBPyConnection, since: datetime | None, chunk: int) -> Iterator[
        list[StoredVerdict]]:
    """Articles ingested since ``since`` (all when None), in stable order, ``chunk`` at a time."""
    last = ""
    while True:
        rows = con.execute(
            "SELECT article_id, story_id, title, coalesce(summary, '') || chr(10) || coalesce(body, ''), "
            "relevance_label FROM articles WHERE article_id > ? AND (? IS NULL OR ingested_at >= ?) "
            "ORDER BY article_id LIMIT ?", [last, since, since, chunk]).fetchall()
        if not rows:
            return
        yield [StoredVerdict(*row) for row in rows]
        last = rows[-1][0]


def write_verdicts(con: duckdb.DuckDBPyConnection, verdicts: dict[str, Relevance]) -> None:
    """Replace score, label, topics, evidence and classifier version of the given articles (in the caller's
    transaction)."""
    table = pa.table({
        "article_id": list(verdicts),
        "score": [v.score for v in verdicts.values()],
        "label": pa.array([v.label for v in verdicts.values()], pa.int8()),
        "topics": pa.array([list(v.topics) for v in verdicts.values()], pa.list_(pa.string())),
        "evidence": [json.dumps(list(v.evidence), ensure_ascii=False) for v in verdicts.values()],
        "version": [v.version for v in verdicts.values()],
    })
    con.register("new_verdicts", table)
    try:
        con.execute(
            "UPDATE articles SET relevance_score = n.score, relevance_label = n.label, topics = n.topics, "
            "evidence = n.evidence::JSON, classifier_version = n.version FROM new_verdicts n "
            "WHERE articles.article_id = n.article_id")
    finally:
        con.unregister("new_verdicts")
