"""Build, render and archive the digest for one day as ``YYYY-MM-DD.{html,txt,md,png}``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from pipeline.classify.taxonomy import load_taxonomy
from pipeline.digest.build import TOP_STORIES, Digest, build_digest
from pipeline.digest.chart import volume_chart_png
from pipeline.digest.render import render_html, render_markdown, render_text
from pipeline.settings import Settings
from pipeline.store import open_warehouse
from pipeline.store.digests import DigestRecord
from pipeline.validation_docs import INDEX


@dataclass(frozen=True, slots=True)
class ArchivedDigest:
    day: date
    html_path: Path
    text_path: Path
    markdown_path: Path
    chart_path: Path
    relevant_stories: int
    relevant_articles: int
    top_stories: tuple[dict[str, Any], ...] = ()  # page order, for checks and scripts

    def to_dict(self) -> dict[str, object]:
        return {"day": self.day.isoformat(), "html": str(self.html_path), "text": str(self.text_path),
                "markdown": str(self.markdown_path), "chart": str(self.chart_path),
                "relevant_stories": self.relevant_stories, "relevant_articles": self.relevant_articles,
                "top_stories": list(self.top_stories)}


def write_digest(digest: Digest, out_dir: Path) -> ArchivedDigest:
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = digest.day.isoformat()
    chart_path = out_dir / f"{stem}.png"
    chart_path.write_bytes(volume_chart_png(digest.volume, topic_names=digest.topic_names))
    html_path, text_path, md_path = (out_dir / f"{stem}.{ext}" for ext in ("html", "txt", "md"))
    html_path.write_text(render_html(digest, chart_src=chart_path.name), encoding="utf-8")
    text_path.write_text(render_text(digest), encoding="utf-8")
    md_path.write_text(render_markdown(digest, chart_src=chart_path.name), encoding="utf-8")
    return ArchivedDigest(day=digest.day, html_path=html_path, text_path=text_path, markdown_path=md_path,
                          chart_path=chart_path, relevant_stories=digest.relevant_story_count,
                          relevant_articles=digest.counts["relevant_articles"],
                          top_stories=tuple(s.to_json() for s in digest.stories[:TOP_STORIES]))


def make_digest(settings: Settings, day: date, out_dir: Path | None = None) -> ArchivedDigest:
    """Build the digest for ``day`` from the warehouse, archive it, and record it in ``digests``."""
    out_dir = Path(out_dir or settings.digest_dir)
    now = datetime.now(UTC)
    with open_warehouse(settings, write=True, holder=f"digest {day}") as wh:
        previous = wh.digests.archived(day)
        day_end = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
        if previous is not None and previous.as_of is not None and previous.as_of >= day_end:
            # the day was complete when first built: show the same state again (same page, same feed problems)
            as_of, feed_problems = previous.as_of, previous.feed_health
        else:  # today's digest, or a day built while it was still running: as the warehouse is now
            as_of, feed_problems = now, None
        digest = build_digest(wh, day, now, settings.importance_weights,
                              load_taxonomy(settings.taxonomy_file).topic_names, as_of=as_of,
                              feed_problems=feed_problems)
        docs_index = settings.validation_dir / INDEX
        if docs_index.exists():  # a path, not a link: the page carries only http(s) links (it is also mailed)
            digest.validation_index = str(docs_index.resolve())
        archived = write_digest(digest, out_dir)
        with wh.transaction():
            wh.digests.record(DigestRecord(day, now, archived.relevant_stories, archived.relevant_articles,
                                           str(archived.html_path), str(archived.text_path),
                                           str(archived.markdown_path), as_of, digest.feed_problems))
    return archived
