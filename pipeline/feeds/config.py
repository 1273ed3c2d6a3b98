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
    enabled: bool = True  # `enabled = false` in the list: kept, not polled

    @property
    def source_id(self) -> str:
        return f"feed:{self.name}"


def load_feed_list(path: Path) -> list[FeedConfig]:
    """Read and check the feed list; any problem is a FeedListError naming the file and the entry."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise FeedListError(f"{path}: {exc}") from exc
    entries = data.get("feeds", [])
    if not isinstance(entries, list):
        raise FeedListError(f"{path}: 'feeds' must be a list of [[feeds]] tables, not {type(entries).__name__}")
    feeds: list[FeedConfig] = []
    names: set[str] = set()
    for number, entry in enumerate(entries, 1):
        if not isinstance(entry, dict):
            raise FeedListError(f"{path}: feed #{number} must be a table with name and url")
        name, url = entry.get("name"), entry.get("url")
        if not isinstance(name, str) or not name.strip() or not re.search(r"\w", name):
            raise FeedListError(f"{path}: feed #{number} needs a name with letters or digits")
        name = name.strip()
        if not isinstance(url, str) or not re.match(r"^https?://", url.strip()):
            raise FeedListError(f"{path}: feed {name!r} needs an http(s) url, got {url!r}")
        if name.casefold() in names:
            raise FeedListError(f"{path}: feed name {name!r} is listed twice")
        names.add(name.casefold())
        language, tags = entry.get("language"), entry.get("tags", [])
        if language is not None and not isinstance(language, str):
            raise FeedListError(f"{path}: feed {name!r}: language must be a code such as \"de\", not {language!r}")
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise FeedListError(f"{path}: feed {name!r}: tags must be a list of strings")
        enabled = entry.get("enabled", True)
        if not isinstance(enabled, bool):
            raise FeedListError(f"{path}: feed {name!r}: enabled must be true or false, not {enabled!r}")
        feeds.append(FeedConfig(name=name, url=url.strip(), language=language, tags=tuple(tags), enabled=enabled))
    return feeds
