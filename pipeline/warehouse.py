"""The DuckDB warehouse: connections, the single-writer lock and versioned migrations."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import duckdb
from filelock import FileLock

from pipeline.settings import PROJECT_ROOT

MIGRATIONS_DIR = PROJECT_ROOT / "warehouse" / "migrations"
VIEWS_FILE = PROJECT_ROOT / "warehouse" / "views.sql"
_MIGRATION_NAME = re.compile(r"^(?P<version>\d{3,})_(?P<name>[\w-]+)\.sql$")


def _lock_for(db_path: Path, timeout_s: float) -> FileLock:
    return FileLock(str(db_path) + ".lock", timeout=timeout_s)


@contextmanager
def connect(db_path: Path, *, read_only: bool = False, lock_timeout_s: float = 600.0) -> Iterator[
        duckdb.DuckDBPyConnection]:
    """A connection to the warehouse, migrated to the latest schema.

    Writers hold a file lock for the whole connection so that only one process writes at a time (the
    Airflow ``warehouse`` pool enforces the same at the scheduler level). Readers skip the lock; DuckDB
    itself refuses a read-only open while a writer holds the file, so readers wait on the lock too when
    the file is busy."""
    db_path = Path(db_path)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    with _lock_for(db_path, lock_timeout_s):
        if read_only and db_path.exists():
            con = duckdb.connect(str(db_path), read_only=True)
        else:
            con = duckdb.connect(str(db_path))
            migrate(con)
        try:
            con.execute("SET TimeZone = 'UTC'")
            yield con
        finally:
            con.close()


def pending_migrations(con: duckdb.DuckDBPyConnection) -> list[Path]:
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, "
        "applied_at TIMESTAMPTZ NOT NULL)"
    )
    applied = {row[0] for row in con.execute("SELECT version FROM schema_migrations").fetchall()}
    files = sorted(p for p in MIGRATIONS_DIR.glob("*.sql") if _MIGRATION_NAME.match(p.name))
    return [p for p in files if int(_MIGRATION_NAME.match(p.name)["version"]) not in applied]  # type: ignore[index]


def migrate(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply every migration not yet applied, each in its own transaction, then recreate the views."""
    applied: list[str] = []
    for path in pending_migrations(con):
        match = _MIGRATION_NAME.match(path.name)
        assert match is not None
        con.execute("BEGIN")
        try:
            con.execute(path.read_text(encoding="utf-8"))
            con.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, ?)",
                [int(match["version"]), match["name"], datetime.now(UTC)],
            )
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        applied.append(path.name)
    con.execute(VIEWS_FILE.read_text(encoding="utf-8"))
    return applied


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None) -> object:
    """First column of the first row. Fetches the whole result: DuckDB 2 refuses new work on a
    connection whose previous result was only partly read."""
    rows = con.execute(sql, params or []).fetchall()
    return rows[0][0] if rows else None


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    return int(scalar(con, "SELECT coalesce(max(version), 0) FROM schema_migrations"))  # type: ignore[arg-type]
