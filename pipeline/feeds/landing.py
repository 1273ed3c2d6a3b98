"""Landing zone: every fetched body is stored gzip-compressed with its headers before parsing, keyed by
feed and content hash, so that any run can be replayed into the warehouse without the network."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path


@dataclass(frozen=True, slots=True)
class LandingRef:
    """A small, JSON-serialisable pointer to one landed body (what DAG tasks pass through XCom)."""

    source_id: str
    feed_name: str
    url: str
    body_hash: str
    path: str
    fetched_at: str
    status: int

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> LandingRef:
        return cls(**data)  # type: ignore[arg-type]


def _safe(name: str) -> str:
    """A folder name for a feed that stays inside the landing dir ("..", "/etc" and the like cannot escape)."""
    return re.sub(r"[^\w.-]+", "_", name).strip("._") or "feed"


def body_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def land(landing_dir: Path, *, source_id: str, feed_name: str, url: str, body: bytes,
         headers: dict[str, str], status: int, fetched_at: datetime) -> LandingRef:
    digest = body_hash(body)
    folder = Path(landing_dir) / _safe(feed_name)
    folder.mkdir(parents=True, exist_ok=True)
    body_path = folder / f"{digest}.body.gz"
    if not body_path.exists():
        tmp = body_path.with_suffix(".tmp")
        tmp.write_bytes(gzip.compress(body, compresslevel=6))
        tmp.replace(body_path)
    ref = LandingRef(source_id=source_id, feed_name=feed_name, url=url, body_hash=digest,
                     path=str(body_path), fetched_at=fetched_at.isoformat(), status=status)
    meta = {**ref.to_dict(), "headers": headers}
    meta_path = folder / f"{digest}.meta.json"
    tmp_meta = meta_path.with_suffix(".tmp")  # written whole or not at all: a killed poll leaves no torn file
    tmp_meta.write_text(json.dumps(meta, indent=1), encoding="utf-8")
    tmp_meta.replace(meta_path)
    return ref


def read_body(ref: LandingRef) -> tuple[bytes, dict[str, str]]:
    body = gzip.decompress(Path(ref.path).read_bytes())
    meta_path = Path(ref.path).with_name(f"{ref.body_hash}.meta.json")
    headers = json.loads(meta_path.read_text(encoding="utf-8")).get("headers", {}) if meta_path.exists() else {}
    return body, headers


def landed_refs(landing_dir: Path) -> list[LandingRef]:
    """Every landed body, oldest fetch first."""
    refs = []
    for meta_path in Path(landing_dir).glob("*/*.meta.json"):
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        meta.pop("headers", None)
        refs.append(LandingRef.from_dict(meta))
    return sorted(refs, key=lambda r: (r.fetched_at, r.source_id))
