"""Story documents as arrays, for the compiled pair scoring of ``story_kernel``.

Each document is one row: its words (with weights), names and numbers as sorted int64 ids in one shared pool
(a row's lists are slices of it), its time, site, language and page flags in an int64 matrix, its totals in a
float matrix and its embedded title and lead as int8. Ids are Python's own string hashes: equal strings are
equal ids within a process, and the table lives only as long as its process's story index."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from pipeline import story_kernel as kernel
from pipeline.embedding import EMBEDDING_DIM
from pipeline.epoch import micros
from pipeline.story_pairs import GATHERING_KINDS, MISSING_COSINE, title_entities

if TYPE_CHECKING:
    from pipeline.stories import StoryDoc

_LISTS = 6  # TOKENS ... TITLE_NUMBERS


def _grown(array: np.ndarray, needed: int) -> np.ndarray:
    if needed <= len(array):
        return array
    bigger = np.zeros((max(needed, 2 * len(array)), *array.shape[1:]), dtype=array.dtype)
    bigger[:len(array)] = array
    return bigger


class DocTable:
    """Rows appended in order; ``stage`` writes the next row without keeping it (a query being matched), and
    ``keep`` keeps the staged row, so a document is encoded once whether it is queried, added, or both."""

    def __init__(self, capacity: int = 1024) -> None:
        self.rows = 0
        self.ids = np.zeros(capacity * 16, dtype=np.int64)
        self.weights = np.zeros(capacity * 16, dtype=np.float64)
        self.spans = np.zeros((capacity, _LISTS, 2), dtype=np.int64)
        self.ints = np.zeros((capacity, 6), dtype=np.int64)
        self.floats = np.zeros((capacity, 3), dtype=np.float64)
        self.vectors = np.zeros((capacity, EMBEDDING_DIM), dtype=np.int8)
        self._pool_used = 0
        self._staged: StoryDoc | None = None  # the document in row ``rows``, if one is staged

    def stage(self, doc: StoryDoc) -> int:
        """Encode ``doc`` (a ``stories.StoryDoc``) as the next row, not yet kept; returns the row."""
        if self._staged is not doc:
            self._write(self.rows, doc)
            self._staged = doc
        return self.rows

    def keep(self, doc: StoryDoc) -> int:
        """Keep ``doc`` as the next row (encoding it unless it is the staged one); returns the row."""
        row = self.stage(doc)
        self._pool_used = int(self.spans[row, _LISTS - 1, 1])
        self.rows += 1
        self._staged = None
        return row

    def _write(self, row: int, doc: StoryDoc) -> None:
        # the six lists' ids and weights gathered flat in Python, sorted and placed by one compiled call: a
        # document has a few dozen entries, so per-call overhead, not data, is what encoding costs
        names = title_entities(doc)
        groups = (doc.tokens, doc.title_tokens, doc.entities, names, doc.numbers, doc.title_numbers)
        ids = np.array([hash(k) for group in groups for k in group], dtype=np.int64)
        plain = len(doc.entities) + len(names) + len(doc.numbers) + len(doc.title_numbers)
        weights = np.array([*doc.tokens.values(), *doc.title_tokens.values(), *([0.0] * plain)], dtype=np.float64)
        start = self._pool_used
        if len(self.ids) < start + len(ids):
            self.ids, self.weights = _grown(self.ids, start + len(ids)), _grown(self.weights, start + len(ids))
        if len(self.spans) < row + 1:
            self.spans, self.ints = _grown(self.spans, row + 1), _grown(self.ints, row + 1)
            self.floats, self.vectors = _grown(self.floats, row + 1), _grown(self.vectors, row + 1)
        lengths = np.array([len(group) for group in groups], dtype=np.int64)
        kernel.write_lists(ids, weights, lengths, self.ids, self.weights, self.spans, row, start)
        vector = np.frombuffer(doc.vector, dtype=np.int8) if doc.vector else None
        norm = float(np.sqrt(np.dot(vector.astype(np.int64), vector))) if vector is not None else 0.0
        flags = ((kernel.HAS_SITE if doc.site else 0) | (kernel.HAS_ORDINALS if doc.ordinals else 0)
                 | (kernel.GATHERING if doc.page_kind in GATHERING_KINDS else 0)
                 | (kernel.EXPLAINER if doc.page_kind == "explainer" else 0)
                 | (kernel.RECURRING if doc.series or doc.page_kind else 0)
                 | (kernel.HAS_VECTOR if norm else 0))
        self.ints[row] = (micros(doc.seen_at), doc.seen_at.date().toordinal(), hash(doc.site), hash(doc.language),
                          hash(doc.ordinals), flags)
        self.floats[row] = (doc.total, sum(doc.title_tokens.values()), 1.0 / norm if norm else 0.0)
        if norm:
            self.vectors[row] = vector

    def features(self, row: int, others: Sequence[int]) -> np.ndarray:
        """(len(others), 17) pair features of a row with each of ``others``."""
        return kernel.pair_features(row, np.asarray(others, dtype=np.int64), self.ids, self.weights, self.spans,
                                    self.ints, self.floats, self.vectors, MISSING_COSINE)
