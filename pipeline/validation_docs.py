"""Great Expectations Data Docs on disk: one validation page per run and batch, and an index of them, newest
first, in NEWSWATCH_VALIDATION_DIR (the digest's data-quality section links to it)."""

from __future__ import annotations

import html
from pathlib import Path

INDEX = "index.html"


def write_page(folder: Path, run_id: str, page_html: str) -> Path:
    """Store one validation page as ``<run_id>-<n>.html`` and refresh the index."""
    folder.mkdir(parents=True, exist_ok=True)
    number = len(list(folder.glob(f"{run_id}-*.html"))) + 1
    path = folder / f"{run_id}-{number:03d}.html"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(page_html, encoding="utf-8")
    tmp.replace(path)
    _write_index(folder)
    return path


def _write_index(folder: Path) -> None:
    pages = sorted((p for p in folder.glob("*.html") if p.name != INDEX), key=lambda p: p.name, reverse=True)
    items = "".join(f'<li><a href="{html.escape(p.name)}">{html.escape(p.stem)}</a></li>' for p in pages)
    (folder / INDEX).write_text(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>newswatch validation runs</title>"
        "</head><body><h1>Great Expectations validation runs</h1><p>One page per ingest run and chunk, newest "
        f"first (suite <code>newswatch_items</code>).</p><ul>{items}</ul></body></html>\n", encoding="utf-8")
