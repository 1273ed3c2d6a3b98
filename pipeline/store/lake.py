"""The warehouse on DuckLake: the same schema, views and repositories as the DuckDB file, with its catalog in
PostgreSQL (many writers on many hosts) or a ``.ducklake`` file (one process), and its data files in a shared
folder or on S3.

Every connection is an in-memory DuckDB that attaches the lake, so readers never wait for writers: each
transaction reads a snapshot, and concurrent commits are checked for conflicts by DuckLake itself (retried up
to ``ducklake_max_retry_count`` times), then by ``retry_conflicts`` around a whole unit of work. Extensions
come from the duckdb-extension-* PyPI packages: nothing is downloaded at run time."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import duckdb

from pipeline.settings import LakeTarget
from pipeline.store.connection import (
    EXTENSIONS_DIR,
    Connection,
    WarehouseMissing,
    WarehouseUnusable,
    load_extension,
    migrate,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

LAKE_ALIAS = "lake"
CONFLICT_ATTEMPTS = 8  # after DuckLake's own retries: a unit of work re-run this often before the error stands
CONFLICT_BACKOFF_S = 0.2  # first wait; doubles per attempt, with jitter so two writers do not collide again


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# What a lost race on the lake says, whatever exception type carries it: DuckLake's own conflict check, and the
# PostgreSQL catalog refusing a commit (serialisation failure, deadlock, two writers taking the same snapshot id).
CONFLICT_MARKERS = ("transaction conflict", "could not serialize access", "deadlock detected",
                    "duplicate key value violates unique constraint \"ducklake_")


def is_conflict(exc: BaseException) -> bool:
    """A concurrent writer changed what this transaction changed (or created the same table first)."""
    message = str(exc).lower()
    if isinstance(exc, duckdb.Error) and any(marker in message for marker in CONFLICT_MARKERS):
        return True
    return isinstance(exc, duckdb.TransactionException | duckdb.CatalogException | duckdb.ConstraintException) and (
        "conflict" in message or "already exists" in message or "concurrent" in message)


def retry_conflicts(work: Callable[[], T], attempts: int = CONFLICT_ATTEMPTS,
                    backoff_s: float = CONFLICT_BACKOFF_S) -> T:
    """Run ``work`` (a whole transaction, safe to repeat) again when it lost a write conflict."""
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except duckdb.Error as exc:
            if attempt == attempts or not is_conflict(exc):
                raise
            wait = backoff_s * 2 ** (attempt - 1) * (0.5 + random.random())
            log.info("write conflict on the lake (attempt %d of %d), retrying in %.2f s: %s", attempt, attempts,
                     wait, str(exc).splitlines()[0])
            time.sleep(wait)
    raise AssertionError("unreachable")


def _s3_secret(con: Connection, lake: LakeTarget) -> None:
    load_extension(con, "httpfs")
    options = {"TYPE": "s3", "REGION": lake.s3_region, "USE_SSL": "true" if lake.s3_use_ssl else "false",
               "URL_STYLE": lake.s3_url_style}
    if lake.s3_endpoint:
        options["ENDPOINT"] = lake.s3_endpoint
    if lake.s3_access_key_id:
        options["KEY_ID"] = lake.s3_access_key_id
        options["SECRET"] = lake.s3_secret_access_key
    else:
        options["PROVIDER"] = "credential_chain"  # AWS's own chain: environment, profile, instance role
    rendered = ", ".join(f"{key} {value if key in ('TYPE', 'USE_SSL', 'PROVIDER') else _quoted(value)}"
                         for key, value in options.items())
    con.execute(f"CREATE OR REPLACE TEMPORARY SECRET newswatch_s3 ({rendered})")


def _schema_exists(con: Connection) -> bool:
    rows = con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = ? "
                       "AND table_name = 'schema_migrations'", [LAKE_ALIAS]).fetchall()
    return bool(rows[0][0])


@contextmanager
def connect_lake(lake: LakeTarget, *, read_only: bool = False, create: bool = True) -> Iterator[Connection]:
    """A connection with the lake attached and in use, migrated to the latest schema when opened for writing."""
    if (read_only or not create) and lake.catalog_kind == "duckdb" and not Path(lake.catalog).exists():
        raise WarehouseMissing(f"no warehouse in {lake.describe()} (run `newswatch ingest` first, or check "
                               "NEWSWATCH_WAREHOUSE)")
    con = duckdb.connect(config={"extension_directory": str(EXTENSIONS_DIR), "autoinstall_known_extensions": False})
    try:
        load_extension(con, "ducklake")
        if lake.catalog_kind == "postgres":
            load_extension(con, "postgres")
        if lake.on_s3:
            _s3_secret(con, lake)
        elif not read_only:
            try:
                Path(lake.data_path).mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise WarehouseUnusable(f"cannot use {lake.data_path} for the lake's data: {exc.strerror} "
                                        "(NEWSWATCH_DATA_PATH)") from None
        options = [f"DATA_PATH {_quoted(lake.data_path)}", *(["READ_ONLY"] if read_only else [])]
        try:
            con.execute(f"ATTACH {_quoted('ducklake:' + lake.catalog)} AS {LAKE_ALIAS} ({', '.join(options)})")
        except duckdb.Error as exc:
            raise WarehouseUnusable(f"cannot attach {lake.describe()}: {str(exc).splitlines()[0]}") from None
        con.execute(f"USE {LAKE_ALIAS}")
        if read_only or not create:
            if not _schema_exists(con):
                raise WarehouseMissing(f"no warehouse in {lake.describe()} (run `newswatch ingest` first, or check "
                                       "NEWSWATCH_WAREHOUSE)")
        else:
            retry_conflicts(lambda: migrate(con, lake=True))
        con.execute("SET TimeZone = 'UTC'")
        yield con
    finally:
        con.close()
