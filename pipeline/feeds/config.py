"""The feed list: ``[[feeds]]`` tables with ``name``, ``url``, optional ``language`` and ``tags``."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path


class FeedListError(ValueError):
    """The feed list file is malformed; the message names the entry."""


@dataclass(frozen=True, slots=True)
class FeedConfig:
    name: str
    url: str
    language: str | None = None
    tags: tuple[str, ...] = field(default_factory=tuple)

    @property
    def source_id(self) -> str:
        return f"feed:{self.name}"


def load_feed_list(path: Path) -> list[FeedConfig]:
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise FeedListError(f"{path}: {exc}") from exc
    feeds: list[FeedConfig] = []
    names: set[str] = set()
    for number, entry in enumerate(data.get("feeds", []), 1):
        name, url = entry.get("name"), entry.get("url")
        if not isinstance(name, str) or not name.strip():
            raise FeedListError(f"{path}: feed #{number} has no name")
        if not isinstance(url, str) or not re.match(r"^https?://", url):
            raise FeedListError(f"{path}: feed {name!r} needs an http(s) url, got {url!r}")
        if name in names:
            raise FeedListError(f"{path}: feed name {name!r} is listed twice")
        names.add(name)
        tags = entry.get("tags", [])
        feeds.append(FeedConfig(name=name.strip(), url=url.strip(), language=entry.get("language"),
                                tags=tuple(str(t) for t in tags)))
    return feeds
