"""What the warehouse remembers about a feed and what one poll learned: small typed values that travel between
Airflow tasks (XCom serialises these dataclasses itself) and are cheap to import at DAG parse time."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from pipeline.feeds.landing import LandingRef


@dataclass(frozen=True, slots=True)
class FeedState:
    """What the warehouse remembers about a feed between polls."""

    url: str
    etag: str | None = None
    last_modified: str | None = None
    last_body_hash: str | None = None
    error_streak: int = 0
    retired: bool = False
    next_poll_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class PollOutcome:
    """Everything a poll learned, JSON-serialisable, to be recorded by the warehouse step."""

    source_id: str
    feed_name: str
    url: str  # the URL polled
    new_url: str | None  # set after a permanent redirect
    status: int | None
    outcome: str  # changed | not_modified | unchanged_body | failed | retired | skipped
    error: str | None
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    landing: dict[str, object] | None
    headers: dict[str, str]
    polled_at: str
    retry_after: str | None
    elapsed_s: float

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> PollOutcome:
        return cls(**data)  # type: ignore[arg-type]

    @property
    def landing_ref(self) -> LandingRef | None:
        return LandingRef.from_dict(self.landing) if self.landing else None

    @property
    def succeeded(self) -> bool:
        return self.outcome in {"changed", "not_modified", "unchanged_body"}
