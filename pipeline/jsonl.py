"""JSON Lines input: every reader of item, labelled-item and labelled-pair files walks them the same way."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class JsonLinesError(ValueError):
    """A line is not JSON; the message names the file and line."""


def numbered_records(path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, decoded value) for each non-blank line."""
    with Path(path).open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as exc:
                raise JsonLinesError(f"{path}:{number}: not JSON: {exc}") from exc
