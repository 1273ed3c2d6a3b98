"""The warehouse as the rest of the package sees it: one repository per aggregate, transactions, opened from
settings. This is the seam a second backend plugs into; nothing outside ``pipeline/store`` writes SQL."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from pipeline.settings import LakeTarget, Settings
from pipeline.store.articles import ArticleStore
from pipeline.store.connection import Connection, connect
from pipeline.store.digests import DigestStore
from pipeline.store.labels import LabelStore
from pipeline.store.quarantine import QuarantineStore
from pipeline.store.runs import RunStore
from pipeline.store.sources import SourceStore
from pipeline.store.stories import StoryStore

log = logging.getLogger(__name__)
T = TypeVar("T")


class Warehouse:
    """Repositories over one open connection."""

    def __init__(self, con: Connection, path: Path | None, lake: LakeTarget | None = None) -> None:
        """``path``: the DuckDB file; ``lake``: the DuckLake warehouse instead (writers side by side)."""
        self._con = con
        self.path = path
        self.lake = lake
        self.sources = SourceStore(con)
        self.articles = ArticleStore(con)
        self.stories = StoryStore(con)
        self.runs = RunStore(con, single_writer=lake is None)
        self.quarantine = QuarantineStore(con)
        self.digests = DigestStore(con)
        self.labels = LabelStore(con)
        self._depth = 0

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All or nothing: on any exception everything written inside is rolled back and the error re-raised.
        A transaction opened inside another joins it (a step called on its own commits by itself; called from
        a chunk, it commits with the chunk)."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._con.execute("BEGIN")
        self._depth = 1
        try:
            yield
            self._con.execute("COMMIT")  # a failed commit (disk full) rolls back below and raises its own error
        except BaseException:
            self._rollback()
            raise
        finally:
            self._depth = 0

    def atomically(self, work: Callable[[], T], before_retry: Callable[[], None] | None = None) -> T:
        """``work`` in one transaction. On a lake, a transaction that lost a write conflict to a concurrent
        writer is rolled back and run again with backoff (``before_retry`` first undoes what ``work`` changed
        outside the warehouse, e.g. counters); on the DuckDB file there is one writer, so it runs once."""
        def attempt() -> T:
            with self.transaction():
                return work()

        if self.lake is None:
            return attempt()
        from pipeline.store.lake import is_conflict, retry_conflicts

        def guarded() -> T:
            try:
                return attempt()
            except duckdb.Error as exc:
                if before_retry is not None and is_conflict(exc):
                    before_retry()
                raise

        return retry_conflicts(guarded)

    def _rollback(self) -> None:
        """Roll back; when DuckDB already aborted the transaction (disk full, I/O error) there is nothing to roll
        back, and the error to report is the one that aborted it, not "no transaction is active"."""
        try:
            self._con.execute("ROLLBACK")
        except duckdb.Error as exc:
            log.debug("rollback after a failed transaction: %s", exc)

    def query(self, sql: str, variables: dict[str, str] | None = None) -> tuple[list[str], list[tuple[Any, ...]]]:
        """A user's SQL (``newswatch query``): column names and rows of its last statement. ``variables`` are
        set first, for the SQL to read as ``getvariable('name')``."""
        for name, value in (variables or {}).items():
            if not name.isidentifier():
                raise ValueError(f"not a variable name: {name!r}")
            self._con.execute(f"SET VARIABLE {name} = ?", [value])
        cursor = self._con.execute(sql)
        rows = cursor.fetchall()
        return [d[0] for d in cursor.description or []], rows

    def checkpoint(self) -> None:
        self._con.execute("CHECKPOINT")


@contextmanager
def open_warehouse(settings: Settings, *, write: bool = False, create: bool | None = None, holder: str = "",
                   timeout_s: float | None = None) -> Iterator[Warehouse]:
    """The warehouse named by ``settings``. Readers wait at most ``db_read_timeout_s`` for a writer (and say
    for whom); writers wait ``db_lock_timeout_s``. A missing file is created only by writers, unless
    ``create`` says otherwise."""
    lake = settings.lake
    if lake is not None:
        from pipeline.store.lake import connect_lake

        # no lock to wait for: readers read a snapshot, writers commit side by side (conflicts are retried)
        with connect_lake(lake, read_only=not write, create=write if create is None else create) as con:
            yield Warehouse(con, None, lake)
        return
    timeout = timeout_s or (settings.db_lock_timeout_s if write else settings.db_read_timeout_s)
    with connect(settings.db, read_only=not write, lock_timeout_s=timeout,
                 create=write if create is None else create, holder=holder) as con:
        yield Warehouse(con, Path(settings.db))
