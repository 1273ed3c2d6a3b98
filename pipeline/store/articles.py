"""Articles and their revisions: the load's reads and writes, the relevance stage's reads and re-scores."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa

from pipeline.models import KnownArticle, Relevance, classified_text, evidence_json
from pipeline.store.arrow_columns import UTC_MICROS, utc_timestamps
from pipeline.store.connection import Connection, load_extension

ARTICLE_SCHEMA = pa.schema([
    ("article_id", pa.string()), ("source_kind", pa.string()), ("source_id", pa.string()),
    ("source_name", pa.string()), ("guid", pa.string()), ("url", pa.string()),
    ("canonical_url", pa.string()), ("title", pa.string()), ("summary", pa.string()),
    ("summary_html", pa.string()), ("body", pa.string()), ("author", pa.string()),
    ("tags", pa.list_(pa.string())), ("published_at", pa.timestamp("us", tz="UTC")),
    ("published_precision", pa.string()), ("updated_at", pa.timestamp("us", tz="UTC")),
    ("ingested_at", pa.timestamp("us", tz="UTC")), ("last_seen_at", pa.timestamp("us", tz="UTC")),
    ("first_run_id", pa.string()), ("language", pa.string()), ("content_hash", pa.string()),
    ("title_key", pa.string()), ("relevance_score", pa.float64()), ("relevance_label", pa.int8()),
    ("topics", pa.list_(pa.string())), ("evidence", pa.string()), ("classifier_version", pa.string()),
    ("story_id", pa.string()), ("duplicate_of", pa.string()), ("flags", pa.list_(pa.string())),
    ("revision", pa.int32()),
])
REVISION_SCHEMA = pa.schema([
    ("article_id", pa.string()), ("revision", pa.int32()), ("title", pa.string()), ("summary", pa.string()),
    ("content_hash", pa.string()), ("seen_at", pa.timestamp("us", tz="UTC")), ("run_id", pa.string()),
])
_COLUMNS = ", ".join(ARTICLE_SCHEMA.names)
_TIMESTAMP_COLUMNS = frozenset(f.name for f in ARTICLE_SCHEMA if f.type == UTC_MICROS)
_DERIVED = "digest_day_of(published_at, published_precision, ingested_at)"  # warehouse/views.sql
# what a revision may change; identity, first sighting and story membership stay
REVISABLE = ("title", "summary", "summary_html", "body", "author", "tags", "updated_at", "last_seen_at",
             "content_hash", "title_key", "relevance_score", "relevance_label", "topics", "evidence",
             "classifier_version", "flags", "revision")


@dataclass(frozen=True, slots=True)
class StoredArticle:
    """What the load needs to know about an article already in the warehouse."""

    content_hash: str
    revision: int
    story_id: str | None


@dataclass(frozen=True, slots=True)
class StoredVerdict:
    article_id: str
    story_id: str | None
    title: str
    text: str
    label: int | None
    score: float | None = None
    topics: tuple[str, ...] = ()


_FTS_PRAGMA = ("PRAGMA create_fts_index('articles', 'article_id', 'title', 'summary', 'body', stemmer = 'english', "
               "stopwords = 'none', strip_accents = 1, lower = 1, overwrite = 1)")
_SEARCH_COLUMNS = ("article_id, title, summary, body, source_name, language, published_at, ingested_at, "
                   "relevance_label, relevance_score, story_id, url")
_SEARCH_SQL = """
    SELECT article_id, title, source_name, language, published_at, ingested_at, relevance_label,
           round(relevance_score, 4) AS relevance_score, story_id, url, round(score, 4) AS score
    FROM (SELECT *, fts_main_articles.match_bm25(article_id, ?) AS score FROM articles) a
    WHERE score IS NOT NULL AND (? IS NULL OR ingested_at >= ?)
    ORDER BY score DESC, article_id LIMIT ?
    """


class ArticleStore:
    def __init__(self, con: Connection) -> None:
        self._con = con

    def stored(self, article_ids: list[str]) -> dict[str, StoredArticle]:
        if not article_ids:
            return {}
        self._con.register("incoming_ids", pa.table({"article_id": article_ids}))
        try:
            rows = self._con.execute("SELECT a.article_id, a.content_hash, a.revision, a.story_id FROM articles a "
                                     "JOIN incoming_ids USING (article_id)").fetchall()
        finally:
            self._con.unregister("incoming_ids")
        return {r[0]: StoredArticle(r[1], r[2], r[3]) for r in rows}

    def same_article_candidates(self, content_hashes: list[str], canonical_urls: list[str | None]) -> list[
            KnownArticle]:
        """Originals with one of these content hashes or canonical URLs, oldest first."""
        if not content_hashes:
            return []
        self._con.register("probe", pa.table({"content_hash": content_hashes, "canonical_url": canonical_urls}))
        try:
            rows = self._con.execute(
                """
                SELECT DISTINCT a.article_id, a.story_id, a.content_hash, a.canonical_url, a.ingested_at
                FROM articles a
                WHERE a.duplicate_of IS NULL AND (
                      a.content_hash IN (SELECT content_hash FROM probe)
                   OR a.canonical_url IN (SELECT canonical_url FROM probe WHERE canonical_url IS NOT NULL))
                ORDER BY a.ingested_at, a.article_id
                """).fetchall()
        finally:
            self._con.unregister("probe")
        return [KnownArticle(*row[:4]) for row in rows]

    def insert_new(self, columns: dict[str, list[Any] | pa.Array]) -> None:
        """New articles given as columns (every column of ARTICLE_SCHEMA, as Python lists or Arrow arrays) and
        their first revisions, each one set-based insert from the same Arrow table."""
        if not columns["article_id"]:
            return
        arrays = {name: utc_timestamps(values) if name in _TIMESTAMP_COLUMNS and isinstance(values, list) else values
                  for name, values in columns.items()}
        self._con.register("new_articles", pa.Table.from_pydict(arrays, schema=ARTICLE_SCHEMA))
        try:
            self._con.execute(f"INSERT INTO articles ({_COLUMNS}, digest_day) SELECT {_COLUMNS}, {_DERIVED} "
                              "FROM new_articles")
            self._con.execute("INSERT INTO article_revisions SELECT article_id, revision, title, summary, "
                              "content_hash, ingested_at, first_run_id FROM new_articles")
        finally:
            self._con.unregister("new_articles")

    def revise(self, article_id: str, changes: dict[str, Any], published_at: datetime | None) -> None:
        """A new revision of an article: the REVISABLE columns replaced, a missing date filled in."""
        columns = [c for c in REVISABLE if c in changes]
        self._con.execute(
            f"UPDATE articles SET {', '.join(f'{c} = ?' for c in columns)}, "
            "published_at = coalesce(published_at, ?) WHERE article_id = ?",
            [changes[c] for c in columns] + [published_at, article_id])

    def add_revisions(self, revisions: list[dict[str, Any]]) -> None:
        if not revisions:
            return
        columns: dict[str, Any] = {name: [r[name] for r in revisions] for name in REVISION_SCHEMA.names}
        columns["seen_at"] = utc_timestamps(columns["seen_at"])
        self._con.register("new_revisions", pa.Table.from_pydict(columns, schema=REVISION_SCHEMA))
        try:
            self._con.execute("INSERT INTO article_revisions SELECT article_id, revision, title, summary, "
                              "content_hash, seen_at, run_id FROM new_revisions")
        finally:
            self._con.unregister("new_revisions")

    def unknown(self, article_ids: list[str]) -> list[str]:
        """The ids among ``article_ids`` that name no stored article."""
        known = {row[0] for row in self._con.execute(
            "SELECT article_id FROM articles WHERE list_contains(?, article_id)", [article_ids]).fetchall()}
        return [a for a in article_ids if a not in known]

    def counts(self) -> dict[str, int]:
        articles, relevant, core = self._con.execute(
            "SELECT count(*), count(*) FILTER (WHERE relevance_label >= 1), "
            "count(*) FILTER (WHERE relevance_label = 2) FROM articles").fetchall()[0]
        return {"articles": articles, "relevant": relevant, "core": core}

    def verdicts_since(self, since: datetime) -> list[StoredVerdict]:
        """Articles ingested since ``since``, oldest first, with their stored verdict (for a backtest)."""
        rows = self._con.execute(
            "SELECT article_id, story_id, title, summary, body, relevance_label, relevance_score, topics "
            "FROM articles WHERE ingested_at >= ? ORDER BY ingested_at, article_id", [since]).fetchall()
        return [StoredVerdict(r[0], r[1], r[2], classified_text(r[3], r[4]), r[5], r[6], tuple(r[7] or ()))
                for r in rows]

    def verdict_chunks(self, since: datetime | None, chunk: int) -> Iterator[list[StoredVerdict]]:
        """Articles ingested since ``since`` (all when None), in stable order, ``chunk`` at a time."""
        last = ""
        while True:
            rows = self._con.execute(
                "SELECT article_id, story_id, title, summary, body, relevance_label FROM articles "
                "WHERE article_id > ? AND (? IS NULL OR ingested_at >= ?) ORDER BY article_id LIMIT ?",
                [last, since, since, chunk]).fetchall()
            if not rows:
                return
            yield [StoredVerdict(r[0], r[1], r[2], classified_text(r[3], r[4]), r[5]) for r in rows]
            last = rows[-1][0]

    def write_verdicts(self, verdicts: dict[str, Relevance]) -> None:
        """Replace score, label, topics, evidence and classifier version of the given articles (in the caller's
        transaction)."""
        table = pa.table({
            "article_id": list(verdicts),
            "score": [v.score for v in verdicts.values()],
            "label": pa.array([v.label for v in verdicts.values()], pa.int8()),
            "topics": pa.array([list(v.topics) for v in verdicts.values()], pa.list_(pa.string())),
            "evidence": [evidence_json(v) for v in verdicts.values()],
            "version": [v.version for v in verdicts.values()],
        })
        self._con.register("new_verdicts", table)
        try:
            self._con.execute(
                "UPDATE articles SET relevance_score = n.score, relevance_label = n.label, topics = n.topics, "
                "evidence = n.evidence::JSON, classifier_version = n.version FROM new_verdicts n "
                "WHERE articles.article_id = n.article_id")
        finally:
            self._con.unregister("new_verdicts")

    # full-text search ------------------------------------------------------------------------------------

    def _search_source(self) -> tuple[int, datetime | None]:
        row = self._con.execute("SELECT count(*), max(last_seen_at) FROM articles").fetchall()[0]
        return int(row[0]), row[1]

    def search_index_fresh(self) -> bool:
        """Whether the full-text index was built from the articles as they are now."""
        state = self._con.execute("SELECT articles, last_change FROM search_index_state").fetchall()
        return bool(state) and tuple(state[0]) == self._search_source()

    def rebuild_search_index(self, now: datetime) -> None:
        """(Re)build the BM25 index over titles, summaries and bodies. Accents are folded and nothing is a
        stopword ("US", "EU" and "NATO" are what analysts search for); English stemming."""
        load_extension(self._con, "fts")
        self._con.execute(_FTS_PRAGMA)
        count, last_change = self._search_source()
        self._con.execute("DELETE FROM search_index_state")
        self._con.execute("INSERT INTO search_index_state VALUES (?, ?, ?)", [count, last_change, now])

    def search(self, text: str, limit: int, since: datetime | None = None) -> list[dict[str, Any]]:
        """Articles matching ``text``, best BM25 score first (the index must be fresh, see above)."""
        load_extension(self._con, "fts")
        cursor = self._con.execute(_SEARCH_SQL, [text, since, since, limit])
        columns = [d[0] for d in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]

    def search_snapshot(self, text: str, limit: int, since: datetime | None = None) -> list[dict[str, Any]]:
        """``search`` on a lake, whose catalog cannot hold the fts extension's index tables: the articles of
        this snapshot are indexed in a private in-memory database, searched, and dropped (no writer needed)."""
        load_extension(self._con, "fts")
        home = self._con.execute("SELECT current_database()").fetchall()[0][0]
        self._con.execute("ATTACH ':memory:' AS search_snapshot")
        try:
            self._con.execute(f"CREATE TABLE search_snapshot.articles AS SELECT {_SEARCH_COLUMNS} FROM articles")
            self._con.execute("USE search_snapshot")
            self._con.execute(_FTS_PRAGMA)
            cursor = self._con.execute(_SEARCH_SQL, [text, since, since, limit])
            columns = [d[0] for d in cursor.description]
            return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
        finally:
            self._con.execute(f"USE {home}")
            self._con.execute("DETACH search_snapshot")
