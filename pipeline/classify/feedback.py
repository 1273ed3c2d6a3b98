"""The analyst's loop: label articles, retrain with those labels, re-score the warehouse."""

from __future__ import annotations

import getpass
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pipeline.classify.classifier import Classifier
from pipeline.classify.model import DEFAULT_MODEL
from pipeline.classify.train import LabelledItem, dev_set_paths, read_labelled, train
from pipeline.ingest import new_run_id
from pipeline.settings import Settings
from pipeline.store import open_warehouse
from pipeline.store.labels import NewLabel

RESCORE_CHUNK = 2000


class LabelError(ValueError):
    """A label names no stored article, or is not 0, 1 or 2."""


def analyst_name() -> str:
    return os.environ.get("NEWSWATCH_ANALYST") or getpass.getuser()


def record_labels(settings: Settings, labels: list[NewLabel], labelled_by: str | None = None) -> int:
    bad = [entry for entry in labels if entry.label not in (0, 1, 2)]
    if bad:
        raise LabelError(f"label must be 0, 1 or 2 (got {bad[0].label} for {bad[0].article_id})")
    with open_warehouse(settings, write=True, create=False, holder="labelling") as wh:
        unknown = wh.articles.unknown([entry.article_id for entry in labels])
        if unknown:
            raise LabelError(f"no article {unknown[0]!r} in {settings.location}"
                             + (f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""))
        with wh.transaction():
            return wh.labels.add(labels, labelled_by or analyst_name(), datetime.now(UTC))


def warehouse_labelled(settings: Settings) -> list[LabelledItem]:
    if not Path(settings.db).exists():
        return []
    with open_warehouse(settings) as wh:
        rows = wh.labels.current()
    return [LabelledItem(item_id=row.article_id, title=row.title, text=row.text, label=row.label,
                         language=row.language or "unknown", source=row.source_name, origin="warehouse",
                         published=row.published.isoformat() if row.published else "")
            for row in rows]


def training_items(eval_dir: Path | None, extra_files: list[Path], analyst: list[LabelledItem]) -> list[LabelledItem]:
    paths = [*(dev_set_paths(eval_dir) if eval_dir and eval_dir.is_dir() else []), *extra_files]
    return [item for path in paths for item in read_labelled(path)] + analyst


def retrain(classifier: Classifier, items: list[LabelledItem], out: Path | None = None) -> dict[str, Any]:
    model = train(classifier.scorer, items)
    target = Path(out or DEFAULT_MODEL)
    model.save(target)
    return {"model": str(target), "fingerprint": model.fingerprint, "relevant_threshold": model.relevant_threshold,
            "core_threshold": model.core_threshold, **model.trained_on}


@dataclass
class RescoreSummary:
    run_id: str
    articles: int = 0
    changed: int = 0
    raised: int = 0
    lowered: int = 0
    classifier_version: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def rescore(settings: Settings, classifier: Classifier, days: int | None = None) -> RescoreSummary:
    """Re-score stored articles with ``classifier``: one transaction per chunk, story aggregates refreshed,
    a ``runs`` row of kind ``rescore``. Running it twice changes nothing the second time."""
    now = datetime.now(UTC)
    summary = RescoreSummary(run_id=new_run_id("rescore", now), classifier_version=classifier.version)
    since = now - timedelta(days=days) if days else None
    weights = settings.importance_weights
    with open_warehouse(settings, write=True, create=False, holder=f"rescore run {summary.run_id}") as wh:
        with wh.transaction():
            wh.runs.start(summary.run_id, "rescore", now)
        try:
            for chunk in wh.articles.verdict_chunks(since, RESCORE_CHUNK):
                verdicts = classifier.classify_many([(a.title, a.text) for a in chunk])
                with wh.transaction():
                    wh.articles.write_verdicts({a.article_id: v for a, v in zip(chunk, verdicts, strict=True)})
                    wh.stories.refresh(sorted({a.story_id for a in chunk if a.story_id}), weights.stored_sql("a"))
                summary.articles += len(chunk)
                for article, verdict in zip(chunk, verdicts, strict=True):
                    if verdict.label != article.label:
                        summary.changed += 1
                        if verdict.label > (article.label or 0):
                            summary.raised += 1
                        else:
                            summary.lowered += 1
        except Exception as exc:
            with wh.transaction():
                wh.runs.fail(summary.run_id, repr(exc), _counters(summary), summary.to_dict(), datetime.now(UTC))
            raise
        with wh.transaction():
            wh.runs.finish(summary.run_id, _counters(summary), summary.to_dict(), datetime.now(UTC))
    return summary


def _counters(summary: RescoreSummary) -> dict[str, int]:
    return {"items_seen": summary.articles, "updated": summary.changed}
