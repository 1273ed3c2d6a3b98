"""The DuckDB file: opening it under the single-writer lock, saying who holds it, and versioned migrations.

DuckDB lets one process open a file for writing and refuses every other process meanwhile (read-only opens
included), so writers and readers both take the same file lock. A writer records who it is beside the lock,
so a reader that has to wait can say for what."""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import duckdb
from filelock import FileLock, Timeout

from pipeline.baseline import BASELINE_DAYS, SILENT_RATIO
from pipeline.settings import PROJECT_ROOT

MIGRATIONS_DIR = PROJECT_ROOT / "warehouse" / "migrations"
# DuckDB extensions come from PyPI packages (duckdb-extension-*) and are unpacked here, inside the virtualenv:
# nothing is downloaded at run time and nothing is written to the user's home
EXTENSIONS_DIR = Path(sys.prefix) / "share" / "duckdb_extensions"
VIEWS_FILE = PROJECT_ROOT / "warehouse" / "views.sql"
CHECKPOINT_THRESHOLD = "256MB"
_MIGRATION_NAME = re.compile(r"^(?P<version>\d{3,})_(?P<name>[\w-]+)\.sql$")

Connection = duckdb.DuckDBPyConnection


class WarehouseMissing(FileNotFoundError):
    """A command that only reads was pointed at a warehouse file that does not exist."""


class WarehouseBusy(TimeoutError):
    """Another process held the warehouse longer than this command was willing to wait."""


class WarehouseUnusable(OSError):
    """The warehouse path cannot hold a warehouse (no such folder, no permission, a special file system)."""


def _check_lock_file(lock_path: Path) -> None:
    """Create the lock file once up front: a path where it cannot exist (``/proc/x``, a read-only folder) is an
    error now, not ten minutes of waiting on a lock that can never be taken."""
    try:
        os.close(os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644))
    except OSError as exc:
        raise WarehouseUnusable(f"cannot use {lock_path.with_suffix('')} as a warehouse: {exc.strerror} "
                                f"({lock_path}); check --db / NEWSWATCH_DB") from None


def _holder_file(db_path: Path) -> Path:
    return Path(str(db_path) + ".holder.json")


def describe_holder(db_path: Path) -> str:
    """Who holds the writer lock, as the writer described itself ("ingest run X (pid 123) since ...")."""
    try:
        info = json.loads(_holder_file(db_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "another process"
    return f"{info.get('holder', 'a writer')} (pid {info.get('pid')}) since {info.get('since')}"


def _acquire(lock: FileLock, db_path: Path, timeout_s: float) -> None:
    try:
        lock.acquire(timeout=0)
        return
    except Timeout:
        pass
    print(f"warehouse busy: {describe_holder(db_path)} holds {db_path}; waiting up to {timeout_s:g} s",
          file=sys.stderr)
    try:
        lock.acquire(timeout=timeout_s)
    except Timeout:
        raise WarehouseBusy(f"warehouse busy: {describe_holder(db_path)} holds {db_path} "
                            f"(gave up after {timeout_s:g} s)") from None


@contextmanager
def connect(db_path: Path, *, read_only: bool = False, lock_timeout_s: float = 600.0, create: bool = True,
            holder: str = "") -> Iterator[Connection]:
    """A connection to the warehouse, migrated to the latest schema when opened for writing.

    ``create=False`` refuses a path where no warehouse exists (a typo must not make an empty one);
    ``holder`` describes this writer to readers that have to wait for it."""
    db_path = Path(db_path)
    holder = holder or ("a reader" if read_only else "a writer")
    if not db_path.exists():
        if not create:
            raise WarehouseMissing(f"no warehouse at {db_path} (run `newswatch ingest` first, or check --db / "
                                   "NEWSWATCH_DB)")
        try:
            db_path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WarehouseUnusable(f"cannot create a warehouse at {db_path}: {exc.strerror}") from None
    _check_lock_file(Path(str(db_path) + ".lock"))
    lock = FileLock(str(db_path) + ".lock")
    _acquire(lock, db_path, lock_timeout_s)
    holder_file = _holder_file(db_path)
    try:
        holder_file.write_text(json.dumps({"holder": holder, "pid": os.getpid(),
                                           "since": datetime.now(UTC).isoformat(timespec="seconds")}),
                               encoding="utf-8")
        config = {"extension_directory": str(EXTENSIONS_DIR), "autoinstall_known_extensions": False}
        if not db_path.exists():
            _create(db_path, config)
        if read_only and db_path.exists():
            con = duckdb.connect(str(db_path), read_only=True, config=config)
        else:
            con = duckdb.connect(str(db_path), config=config)
            # DuckDB checkpoints (rewrites the touched row groups and the primary-key indexes into the file) at a
            # commit once its write-ahead log passes 16 MB: a 60k-item ingest paid 3.9 s of commits for three
            # checkpoints of a growing file. A run's chunks now go to the log and the file is checkpointed once,
            # when the run closes it (0.9 s), or whenever the log passes this size (bounded replay after a crash)
            con.execute(f"SET checkpoint_threshold = '{CHECKPOINT_THRESHOLD}'")
            migrate(con)
        try:
            con.execute("SET TimeZone = 'UTC'")
            yield con
        finally:
            con.close()
    finally:
        holder_file.unlink(missing_ok=True)
        lock.release()


def load_extension(con: Connection, name: str) -> None:
    """Load a DuckDB extension shipped as a PyPI package (installed into EXTENSIONS_DIR on first use)."""
    import duckdb_extensions

    EXTENSIONS_DIR.mkdir(parents=True, exist_ok=True)
    duckdb_extensions.import_extension(name, con=con)
    con.execute(f"LOAD {name}")


def _create(db_path: Path, config: dict[str, object]) -> None:
    """A new warehouse appears whole or not at all: built and migrated under a temporary name, checkpointed,
    then renamed into place (a process killed while creating leaves no half-made file behind)."""
    building = db_path.with_name(db_path.name + ".creating")
    for leftover in (building, Path(str(building) + ".wal")):
        leftover.unlink(missing_ok=True)
    con = duckdb.connect(str(building), config=config)
    try:
        migrate(con)
        con.execute("CHECKPOINT")
    finally:
        con.close()
    os.replace(building, db_path)


_COMMENT = re.compile(r"--[^\n]*")
# what DuckLake does not have (it enforces no keys and keeps no indexes); uniqueness is the repositories' job
# on both backends (MERGE on the key, never a blind insert)
_LAKE_DROPS = (
    re.compile(r",\s*(?:PRIMARY KEY|UNIQUE)\s*\([^)]*\)", re.I),  # table constraints
    re.compile(r"\s+(?:PRIMARY KEY|UNIQUE)\b", re.I),  # column constraints
    re.compile(r"\s+CHECK\s*\((?:[^()]|\([^()]*\))*\)", re.I),
    re.compile(r"\s+DEFAULT\s+\[\]", re.I),  # readers coalesce a missing list
    re.compile(r"CREATE\s+INDEX[^;]*;", re.I),
)


def lake_ddl(sql: str) -> str:
    """A migration as DuckLake runs it: comments, keys, checks, list defaults and indexes removed."""
    sql = _COMMENT.sub("", sql)
    for pattern in _LAKE_DROPS:
        sql = pattern.sub("", sql)
    return sql


def pending_migrations(con: Connection, lake: bool = False) -> list[Path]:
    ddl = ("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, "
           "applied_at TIMESTAMPTZ NOT NULL)")
    con.execute(lake_ddl(ddl) if lake else ddl)
    applied = {row[0] for row in con.execute("SELECT version FROM schema_migrations").fetchall()}
    files = sorted(p for p in MIGRATIONS_DIR.glob("*.sql") if _MIGRATION_NAME.match(p.name))
    return [p for p in files if int(_MIGRATION_NAME.match(p.name)["version"]) not in applied]  # type: ignore[index]


def migrate(con: Connection, lake: bool = False) -> list[str]:
    """Apply every migration not yet applied, each in its own transaction, then recreate the views when their
    definition changed. ``lake``: the DuckLake dialect (``lake_ddl``)."""
    applied: list[str] = []
    for path in pending_migrations(con, lake):
        match = _MIGRATION_NAME.match(path.name)
        assert match is not None
        sql = path.read_text(encoding="utf-8")
        con.execute("BEGIN")
        try:
            con.execute(lake_ddl(sql) if lake else sql)
            con.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, ?)",
                [int(match["version"]), match["name"], datetime.now(UTC)],
            )
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        if not lake:
            # write the schema change into the file now: DuckDB 1.5 cannot replay an ALTER TABLE on a table
            # whose column defaults call functions (now(), []) from the WAL after a crash
            con.execute("CHECKPOINT")
        applied.append(path.name)
    _refresh_views(con, lake)
    return applied


def _refresh_views(con: Connection, lake: bool) -> None:
    """Recreate the views and macros when warehouse/views.sql changed (or a migration ran): a writer that
    connects does not rewrite the catalog, so concurrent writers on a lake do not conflict over it."""
    sql = views_sql()
    digest = hashlib.sha256(sql.encode()).hexdigest()
    ddl = "CREATE TABLE IF NOT EXISTS schema_views (sql_sha256 VARCHAR NOT NULL, created_at TIMESTAMPTZ NOT NULL)"
    con.execute(ddl)
    current = con.execute("SELECT sql_sha256 FROM schema_views").fetchall()
    if current == [(digest,)]:
        return
    con.execute("BEGIN")
    try:
        con.execute(sql)
        con.execute("DELETE FROM schema_views")
        con.execute("INSERT INTO schema_views VALUES (?, ?)", [digest, datetime.now(UTC)])
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


def views_sql() -> str:
    """warehouse/views.sql with the shared constants filled in (defined once, in pipeline.baseline)."""
    text = VIEWS_FILE.read_text(encoding="utf-8")
    return text.replace("{baseline_days}", str(BASELINE_DAYS)).replace("{silent_ratio}", str(SILENT_RATIO))


def scalar(con: Connection, sql: str, params: list[object] | None = None) -> object:
    """First column of the first row. Fetches the whole result: DuckDB 2 refuses new work on a
    connection whose previous result was only partly read."""
    rows = con.execute(sql, params or []).fetchall()
    return rows[0][0] if rows else None


def schema_version(con: Connection) -> int:
    return int(scalar(con, "SELECT coalesce(max(version), 0) FROM schema_migrations"))  # type: ignore[arg-type]
