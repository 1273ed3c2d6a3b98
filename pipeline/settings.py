"""Typed settings, parsed once from the environment (``NEWSWATCH_*``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from pipeline.importance import ImportanceWeights

_WEIGHTS = ImportanceWeights()  # the documented defaults, defined once

PROJECT_ROOT = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    """Where newswatch reads and writes, and how it behaves. Every field maps to ``NEWSWATCH_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="NEWSWATCH_", extra="ignore")

    db: Path = Field(default=PROJECT_ROOT / "warehouse" / "newswatch.duckdb", description="DuckDB file")
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
    fetch_per_host_limit: int = Field(default=2, ge=1, le=64)
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
