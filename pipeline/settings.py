"""Typed settings, parsed once from the environment (``NEWSWATCH_*``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from pipeline.importance import ImportanceWeights

_WEIGHTS = ImportanceWeights()  # the documented defaults, defined once

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class LakeTarget:
    """A DuckLake warehouse: its catalog (what follows ``ducklake:`` in DuckDB's ATTACH: ``postgres:dbname=...
    host=...`` for many writers on many hosts, or a ``.ducklake`` file for one process) and where its data files
    live (a folder every writer sees, or ``s3://bucket/prefix``)."""

    catalog: str
    data_path: str
    s3_endpoint: str = ""
    s3_region: str = "us-east-1"
    s3_access_key_id: str = ""
    s3_secret_access_key: str = field(default="", repr=False)
    s3_use_ssl: bool = True
    s3_url_style: str = "vhost"

    @property
    def catalog_kind(self) -> str:
        return "postgres" if self.catalog.startswith("postgres:") else "duckdb"

    @property
    def on_s3(self) -> bool:
        return self.data_path.startswith("s3://")

    def describe(self) -> str:
        """The catalog without credentials (``password=...`` is dropped), for messages and ``status``."""
        shown = " ".join(part for part in self.catalog.split() if not part.lower().startswith("password="))
        return f"ducklake:{shown} (data {self.data_path})"


class Settings(BaseSettings):
    """Where newswatch reads and writes, and how it behaves. Every field maps to ``NEWSWATCH_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="NEWSWATCH_", extra="ignore")

    db: Path = Field(default=PROJECT_ROOT / "warehouse" / "newswatch.duckdb", description="DuckDB file")
    warehouse: str = Field(default="", description="duckdb:///path/file.duckdb (the embedded default, same as "
                           "NEWSWATCH_DB) or ducklake:<catalog> (ducklake:postgres:dbname=lake host=db.internal)")
    data_path: str = Field(default="", description="DuckLake data files: a folder all writers share, or "
                           "s3://bucket/prefix")
    s3_endpoint: str = Field(default="", description="host:port of an S3-compatible store (empty: AWS)")
    s3_region: str = "us-east-1"
    s3_access_key_id: str = ""
    s3_secret_access_key: SecretStr | None = None
    s3_use_ssl: bool = True
    s3_url_style: str = Field(default="vhost", pattern="^(vhost|path)$",
                              description="path for MinIO/moto-style endpoints")
    seeds_dir: Path = Field(default=PROJECT_ROOT / "seeds", description="seed documents (*.txt)")
    feeds_file: Path = Field(default=PROJECT_ROOT / "seeds" / "feeds.toml", description="feed list")
    landing_dir: Path = Field(default=PROJECT_ROOT / "warehouse" / "landing", description="raw fetched bodies")
    digest_dir: Path = Field(default=PROJECT_ROOT / "warehouse" / "digests", description="digest archive")
    validation_dir: Path = Field(default=PROJECT_ROOT / "warehouse" / "validation",
                                 description="Great Expectations Data Docs page of every validation run")
    taxonomy_file: Path | None = Field(default=None, description="relevance taxonomy (default: bundled)")
    model_file: Path | None = Field(default=None, description="relevance model artefact (default: bundled)")

    # bounds: a zero or negative limit would hang polling (no slot ever frees) or fail every feed
    fetch_connect_timeout_s: float = Field(default=5.0, gt=0, le=300)
    fetch_read_timeout_s: float = Field(default=15.0, gt=0, le=600)
    fetch_allow_internal_redirects: bool = Field(
        default=False, description="follow redirects into loopback/private space (on-premise feed servers)")
    fetch_deadline_s: float = Field(default=60.0, gt=0, le=3600, description="wall-clock budget of one fetch")
    fetch_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, le=1024**3)
    fetch_per_host_limit: int = Field(default=2, ge=1, le=64, description="requests at a time per host, across "
                                      "every worker that shares host_slots_dsn")
    host_slots: str = Field(default="", description="libpq DSN of a PostgreSQL whose advisory locks bound requests "
                            "per host across workers (default: the lake's PostgreSQL catalog; none: per process)")
    fetch_concurrency: int = Field(default=8, ge=1, le=256)
    user_agent: str = "newswatch/0.1 (+https://github.com/newswatch; transatlantic security monitor)"

    landing_retention_days: int = Field(default=30, ge=1,
                                        description="landed bodies kept this long (the newest per feed always)")
    validation_max_error_rate: float = Field(default=0.5, ge=0.0, le=1.0,
                                             description="share of a source's batch that may fail")
    validation_min_batch: int = Field(default=5, description="smaller batches never trip the error-rate gate")
    validation_warn_only: str = Field(default="", description="comma list of expectations demoted to warnings")
    db_lock_timeout_s: float = Field(default=600.0, gt=0, description="how long a writer waits for the warehouse")
    db_read_timeout_s: float = Field(default=30.0, gt=0, description="how long a read command waits for a writer")
    process_batches: int = Field(default=4, ge=1, le=256, description="on a lake: polls processed in this many "
                                 "batches side by side (the `warehouse` pool's slots bound how many at once)")
    chunk_bodies: int = Field(default=400, ge=1, le=100_000,
                              description="feed bodies per transaction (about 20,000 items for 50-item feeds)")

    importance_relevance: float = Field(default=_WEIGHTS.relevance, ge=0, description="story importance: P(relevant)")
    importance_core: float = Field(default=_WEIGHTS.core, ge=0, description="story importance: a core member")
    importance_outlets: float = Field(default=_WEIGHTS.outlets, ge=0, description="story importance: ln(1 + outlets)")
    importance_languages: float = Field(default=_WEIGHTS.languages, ge=0, description="story importance: ln(languages)")
    importance_members: float = Field(default=_WEIGHTS.members, ge=0, description="story importance: ln(1 + articles)")
    importance_new_today: float = Field(default=_WEIGHTS.new_today, ge=0, description="digest day: first seen that day")
    importance_today: float = Field(default=_WEIGHTS.today, ge=0, description="digest day: ln(1 + articles that day)")

    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_ssl: bool = False
    smtp_timeout_s: float = 30.0
    smtp_conn_id: str = Field(default="smtp_default", description="Airflow connection used by the digest DAG")
    mail_from: str = "newswatch@localhost"
    digest_to: str = ""

    @model_validator(mode="after")
    def _warehouse_url(self) -> Settings:
        """NEWSWATCH_WAREHOUSE names the backend; a duckdb: URL is the same as NEWSWATCH_DB."""
        url = self.warehouse.strip()
        if not url:
            return self
        if url.startswith("duckdb:"):
            path = url.removeprefix("duckdb:").removeprefix("//")
            if not path:
                raise ValueError("NEWSWATCH_WAREHOUSE=duckdb: names no file (duckdb:///path/newswatch.duckdb)")
            self.db = Path(path)
            self.warehouse = ""
        elif url.startswith("ducklake:"):
            if not url.removeprefix("ducklake:").strip():
                raise ValueError("NEWSWATCH_WAREHOUSE=ducklake: names no catalog (ducklake:postgres:dbname=... "
                                 "host=..., or ducklake:/path/catalog.ducklake)")
            if not self.data_path.strip():
                raise ValueError("a DuckLake warehouse needs NEWSWATCH_DATA_PATH (a shared folder or s3://bucket/"
                                 "prefix)")
        else:
            raise ValueError(f"NEWSWATCH_WAREHOUSE must start with duckdb: or ducklake:, not {url[:40]!r}")
        return self

    @property
    def lake(self) -> LakeTarget | None:
        """The DuckLake warehouse when NEWSWATCH_WAREHOUSE names one; None: the DuckDB file ``db``."""
        if not self.warehouse.startswith("ducklake:"):
            return None
        secret = self.s3_secret_access_key.get_secret_value() if self.s3_secret_access_key else ""
        return LakeTarget(self.warehouse.removeprefix("ducklake:").strip(), self.data_path.strip(),
                          self.s3_endpoint, self.s3_region, self.s3_access_key_id, secret, self.s3_use_ssl,
                          self.s3_url_style)

    @property
    def host_slots_dsn(self) -> str | None:
        """Where per-host request slots are shared: NEWSWATCH_HOST_SLOTS, else a lake's PostgreSQL catalog."""
        lake = self.lake
        if self.host_slots:
            return self.host_slots
        if lake is not None and lake.catalog_kind == "postgres":
            return lake.catalog.removeprefix("postgres:")
        return None

    @property
    def location(self) -> str:
        """Where the warehouse is, for messages (no credentials)."""
        lake = self.lake
        return lake.describe() if lake else str(self.db)

    @property
    def importance_weights(self) -> ImportanceWeights:
        return ImportanceWeights(
            relevance=self.importance_relevance, core=self.importance_core, outlets=self.importance_outlets,
            languages=self.importance_languages, members=self.importance_members,
            new_today=self.importance_new_today, today=self.importance_today)

    @property
    def warn_only_expectations(self) -> frozenset[str]:
        return frozenset(name.strip() for name in self.validation_warn_only.split(",") if name.strip())

    @property
    def digest_recipients(self) -> list[str]:
        return [address.strip() for address in self.digest_to.split(",") if address.strip()]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; tests that change the environment call ``get_settings.cache_clear()``."""
    return Settings()
