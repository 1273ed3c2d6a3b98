"""The ``newswatch`` command line: the same pipeline functions the Airflow DAGs call."""

from __future__ import annotations

import csv
import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import click

from pipeline.settings import PROJECT_ROOT, Settings, get_settings


def _settings(db: Path | None) -> Settings:
    from pydantic import ValidationError

    try:
        settings = get_settings()
    except ValidationError as exc:  # one line per bad setting, named as the user set it
        problems = "; ".join(f"NEWSWATCH_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
        raise click.ClickException(f"bad configuration: {problems}") from None
    # --db names a DuckDB file: it wins over a DuckLake NEWSWATCH_WAREHOUSE
    return settings.model_copy(update={"db": db, "warehouse": ""}) if db else settings


def _emit(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, default=str))


def _report(summary: Any, as_json: bool) -> None:
    """A run summary (ingest, replay, quarantine replay) as JSON or as one line."""
    if as_json:
        _emit(summary.to_dict())
        return
    click.echo(f"{summary.kind} {summary.run_id}: {summary.items_seen} items seen, {summary.loaded} loaded, "
               f"{summary.updated} updated, {summary.duplicates} duplicates, {summary.quarantined} quarantined; "
               f"feeds {summary.feeds_ok} ok / {summary.feeds_failed} failed")


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


# One --json convention for every command: a result is one JSON object, a stream of rows is JSON Lines.
# Commands whose only output is data (eval, eval-stories, train, train-stories, quarantine show) print JSON
# with or without the flag.
always_json = click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object (the default).")

db_option = click.option("--db", type=click.Path(path_type=Path), default=None,
                         help="DuckDB file (default: $NEWSWATCH_DB or warehouse/newswatch.duckdb).")


class WarehouseErrors(click.Group):
    """Turns a missing, busy or unusable warehouse and a bad feed list into a one-line error (exit 1) in every
    command."""

    def invoke(self, ctx: click.Context) -> Any:
        from pipeline.feeds.config import FeedListError
        from pipeline.store import WarehouseBusy, WarehouseMissing, WarehouseUnusable

        try:
            return super().invoke(ctx)
        except (WarehouseMissing, WarehouseBusy, WarehouseUnusable, FeedListError) as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=WarehouseErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="newswatch")
def main() -> None:
    """newswatch: transatlantic-security news monitoring (seeds and feeds -> DuckDB -> daily digest)."""


@main.command()
@click.option("--feeds", "feeds_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Feed list (TOML, [[feeds]] with name/url/language/tags). Default: seeds/feeds.toml.")
@click.option("--no-seeds", is_flag=True, help="Do not ingest the seed documents.")
@click.option("--no-feeds", is_flag=True, help="Do not poll feeds.")
@click.option("--all", "all_feeds", is_flag=True,
              help="Poll every listed feed now, ignoring backoff, Retry-After and each feed's schedule.")
@click.option("--due-only", is_flag=True, hidden=True, help="The default: poll only feeds that are due.")
@click.option("--feed", "feed_names", multiple=True,
              help="Poll only this listed feed (repeatable); the others keep their state and schedule.")
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as one JSON object.")
@click.option("--strict", is_flag=True,
              help="Exit 3 when a source's batch failed validation beyond the allowed error rate.")
@db_option
def ingest(feeds_file: Path | None, no_seeds: bool, no_feeds: bool, all_feeds: bool, due_only: bool,
           feed_names: tuple[str, ...], as_json: bool, strict: bool, db: Path | None) -> None:
    """Poll the feeds that are due (politely: each feed's schedule, backoff and Retry-After; --all polls every
    feed) and read seeds, then validate, dedup, classify and load into the warehouse.

    Exits 0 when the run completed, even if some feeds failed (their errors are in the summary)."""
    from pipeline.classify.model import ModelError
    from pipeline.classify.taxonomy import TaxonomyError
    from pipeline.feeds.config import FeedListError
    from pipeline.ingest import UnknownFeed, run_ingest

    settings = _settings(db)
    try:
        from pipeline.classify.classifier import get_classifier

        get_classifier(settings.taxonomy_file, settings.model_file)  # configuration errors before any work
        summary = run_ingest(settings, feeds_file, include_seeds=not no_seeds, include_feeds=not no_feeds,
                             only_due=not all_feeds, names=frozenset(feed_names) or None)
    except (FeedListError, TaxonomyError, ModelError, UnknownFeed) as exc:
        raise click.ClickException(str(exc)) from exc
    _report(summary, as_json)
    if as_json:
        if strict and summary.gate_failures:
            raise SystemExit(3)
        return
    for error in summary.feed_errors:
        click.echo(f"  feed {error['feed']}: {error['error']}", err=True)
    for gate in summary.gate_failures:
        click.echo(f"  validation gate: {gate['source_id']} {gate['failed']}/{gate['rows']} rows failed", err=True)
    if strict and summary.gate_failures:
        raise SystemExit(3)


@main.command()
@click.option("--feed", "feed_name", default=None, help="Replay only this feed's landed bodies.")
@click.option("--force", is_flag=True, help="Re-parse bodies already processed into this warehouse (after a fix).")
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as JSON.")
@db_option
def replay(feed_name: str | None, force: bool, as_json: bool, db: Path | None) -> None:
    """Process the landed feed bodies into the warehouse, without the network (already processed ones are
    skipped unless --force)."""
    from pipeline.ingest import UnknownFeed
    from pipeline.ingest import replay as replay_landed

    try:
        summary = replay_landed(_settings(db), feed_name=feed_name, force=force)
    except UnknownFeed as exc:
        raise click.ClickException(str(exc)) from exc
    _report(summary, as_json)


@main.command()
@click.option("--date", "day", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Digest day (UTC), YYYY-MM-DD. Default: today.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Directory for YYYY-MM-DD.{html,txt,md,png} (default: $NEWSWATCH_DIGEST_DIR).")
@click.option("--send", is_flag=True,
              help="Also email it (NEWSWATCH_SMTP_*, NEWSWATCH_MAIL_FROM, NEWSWATCH_DIGEST_TO).")
@click.option("--force", is_flag=True, help="With --send: send even if this day's digest already went to them.")
@click.option("--json", "as_json", is_flag=True, help="Print paths and counts as JSON.")
@db_option
def digest(day: datetime | None, out_dir: Path | None, send: bool, force: bool, as_json: bool,
           db: Path | None) -> None:
    """Build and archive the daily digest for one day, and optionally email it exactly once.

    Exits 1 when sending fails; the digest stays archived and the failure is recorded in digest_sends."""
    from pipeline.digest.archive import make_digest

    settings = _settings(db)
    target = day.date() if day else datetime.now(UTC).date()
    archived = make_digest(settings, target, out_dir)
    result: dict[str, Any] = archived.to_dict()
    if send:
        from pipeline.digest.mail import DigestSendError, SmtpSettings, send_digest

        try:
            sent = send_digest(settings, target, SmtpSettings.from_settings(settings), sender=settings.mail_from,
                               recipients=settings.digest_recipients, force=force, archived=archived)
        except DigestSendError as exc:
            raise click.ClickException(str(exc)) from exc
        result["send"] = sent.to_dict()
    if as_json:
        _emit(result)
    else:
        click.echo(f"digest {target}: {archived.relevant_stories} relevant stories -> {archived.html_path}")
        if send:
            sent_info = result["send"]
            reason = f" ({sent_info['reason']})" if sent_info.get("reason") else ""
            click.echo(f"mail to {sent_info['recipients']}: {sent_info['status']}{reason}")


@main.command()
@click.argument("sql", required=False)
@click.option("--file", "sql_file", type=click.File("r", encoding="utf-8"), default=None,
              help="Run the SQL in FILE (e.g. warehouse/queries/*.sql); '-' reads standard input.")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
              help="A value the SQL reads as getvariable('NAME') (repeatable), e.g. --param day=2026-11-21.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
              help="Output format: aligned table, JSON lines, or CSV.")
@db_option
def query(sql: str | None, sql_file: Any, params: tuple[str, ...], fmt: str, db: Path | None) -> None:
    """Run SQL against the warehouse (read-only) and print the result: the SQL argument, a file (--file), or
    standard input (SQL '-'). A file may hold several statements; the last one's rows are printed."""
    from pipeline.store import open_warehouse

    if sql_file is not None:
        text = sql_file.read()
    elif sql == "-":
        text = sys.stdin.read()
    elif sql:
        text = sql
    else:
        raise click.UsageError("give SQL, --file FILE, or '-' to read standard input")
    variables: dict[str, str] = {}
    for param in params:
        name, sep, value = param.partition("=")
        if not sep or not name.strip().isidentifier():
            raise click.UsageError(f"--param needs NAME=VALUE, got {param!r}")
        variables[name.strip()] = value
    with open_warehouse(_settings(db)) as wh:
        try:
            columns, rows = wh.query(text, variables)
        except Exception as exc:  # duckdb raises many error types; all are the user's SQL problem here
            raise click.ClickException(str(exc).splitlines()[0]) from exc
    if fmt == "json":
        for row in rows:
            _emit({c: _jsonable(v) for c, v in zip(columns, row, strict=True)})
    elif fmt == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        writer.writerows(rows)
    else:
        from tabulate import tabulate

        click.echo(tabulate(rows, headers=columns, tablefmt="simple", maxcolwidths=60))


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    from pipeline.jsonl import JsonLinesError, numbered_records

    try:
        return [record for _, record in numbered_records(path)]
    except JsonLinesError as exc:
        raise click.ClickException(str(exc)) from exc


def _read_items(path: Path) -> list[dict[str, Any]]:
    """Items for classify/cluster: each line an object with an id and a title or text (an item without an id
    could not be matched to its result; one without words cannot be judged)."""
    from pipeline.jsonl import JsonLinesError, numbered_records

    records = []
    try:
        for number, record in numbered_records(path):
            if not isinstance(record, dict):
                raise click.ClickException(f"{path}:{number}: not an object with id, title and text")
            if record.get("id") in (None, ""):
                raise click.ClickException(f"{path}:{number}: no id (each line needs id, title and/or text)")
            if not str(record.get("title") or "").strip() and not str(record.get("text") or
                                                                      record.get("summary") or "").strip():
                raise click.ClickException(f"{path}:{number}: item {record['id']!r} has neither title nor text")
            records.append(record)
    except JsonLinesError as exc:
        raise click.ClickException(str(exc)) from exc
    return records


def _write_jsonl(path: Path | None, rows: list[dict[str, Any]]) -> None:
    lines = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    if path is None or str(path) == "-":
        click.echo(lines, nl=False)
    else:
        Path(path).write_text(lines, encoding="utf-8")


jsonl_in = click.option("--in", "in_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
                        help="Input JSON Lines file.")
jsonl_out = click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
                         help="Output JSON Lines file (default: standard output).")


@main.command()
@jsonl_in
@jsonl_out
def cluster(in_path: Path, out_path: Path | None) -> None:
    """Dedup and group items into stories, in the order given, in memory (the warehouse's own logic, no database).

    Reads {id, title, text, url, source, published} per line; writes {id, story_id, duplicate_of}
    (duplicate_of is null unless the item is the same article as an earlier one)."""
    from pipeline.cluster import cluster_records

    _write_jsonl(out_path, cluster_records(_read_items(in_path)))


taxonomy_option = click.option("--taxonomy", "taxonomy_path", type=click.Path(exists=True, dir_okay=False,
                               path_type=Path), default=None,
                               help="Taxonomy TOML (default: $NEWSWATCH_TAXONOMY_FILE or the bundled one).")


model_option = click.option("--model", "model_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                            default=None, help="Relevance model (default: $NEWSWATCH_MODEL_FILE or the bundled one).")


def _classifier(taxonomy_path: Path | None, model_path: Path | None = None):  # type: ignore[no-untyped-def]
    from pipeline.classify.classifier import Classifier, load_model
    from pipeline.classify.model import ModelError
    from pipeline.classify.scorer import Scorer
    from pipeline.classify.taxonomy import TaxonomyError, load_taxonomy

    try:
        settings = get_settings()
        return Classifier(Scorer(load_taxonomy(taxonomy_path or settings.taxonomy_file)),
                          load_model(model_path or settings.model_file))
    except (TaxonomyError, ModelError) as exc:
        raise click.ClickException(str(exc)) from exc


@main.command()
@jsonl_in
@jsonl_out
@taxonomy_option
@model_option
def classify(in_path: Path, out_path: Path | None, taxonomy_path: Path | None, model_path: Path | None) -> None:
    """Score items for relevance to transatlantic security.

    Reads {id, title, text} per line; writes {id, score, label, topics, evidence} (label 2 core, 1 related,
    0 not relevant; score is the calibrated probability of relevance; every item with label >= 1 has
    evidence: the taxonomy terms and rules that fired and the strongest learned features)."""
    from pipeline.classify.evaluate import classify_records

    _write_jsonl(out_path, classify_records(_classifier(taxonomy_path, model_path), _read_items(in_path)))


def _labelled(paths: tuple[Path, ...]) -> list[Any]:
    from pipeline.classify.train import TrainingDataError, read_labelled

    try:
        return [item for path in paths for item in read_labelled(path)]
    except TrainingDataError as exc:
        raise click.ClickException(str(exc)) from exc


@main.command("eval")
@click.option("--in", "in_paths", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Labelled JSON Lines {id, title, text, label[, language, source]} (repeatable).")
@click.option("--warehouse", "use_warehouse", is_flag=True, help="Score the analyst's labels in the warehouse.")
@click.option("--no-cv", is_flag=True, help="Skip the k-fold cross-validation (faster).")
@taxonomy_option
@model_option
@db_option
@always_json
def eval_command(in_paths: tuple[Path, ...], use_warehouse: bool, no_cv: bool, taxonomy_path: Path | None,
                 model_path: Path | None, db: Path | None, as_json: bool) -> None:
    """Honest figures for the classifier: the frozen slice (ids with sha256 % 5 == 0, never trained on),
    k-fold cross-validation of the whole training procedure (random, by publication week, and with each --in
    file held out in turn), per language and source; then fitted figures."""
    from pipeline.classify.evaluate import evaluate
    from pipeline.classify.feedback import warehouse_labelled

    items = _labelled(in_paths)
    if use_warehouse:
        items += warehouse_labelled(_settings(db))
    if not items:
        raise click.UsageError("nothing to evaluate: give --in FILE and/or --warehouse (with labels stored)")
    _emit(evaluate(_classifier(taxonomy_path, model_path), items, with_cv=not no_cv))


@main.command()
@click.option("--eval-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder of relevance_dev*.jsonl (default: ../shared/eval beside the project, if present).")
@click.option("--in", "in_paths", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="More labelled JSON Lines files (repeatable).")
@click.option("--no-warehouse", is_flag=True, help="Do not use the analyst labels stored in the warehouse.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the model (default: the bundled pipeline/classify/relevance_model.npz).")
@taxonomy_option
@db_option
@always_json
def train(eval_dir: Path | None, in_paths: tuple[Path, ...], no_warehouse: bool, out_path: Path | None,
          taxonomy_path: Path | None, db: Path | None, as_json: bool) -> None:
    """Rebuild the relevance model from the labelled dev sets and the analyst's labels, deterministically."""
    from pipeline.classify.feedback import retrain, training_items, warehouse_labelled
    from pipeline.classify.train import TrainingDataError

    settings = _settings(db)
    folder = eval_dir or PROJECT_ROOT.parent / "shared" / "eval"
    analyst = [] if no_warehouse else warehouse_labelled(settings)
    try:
        items = training_items(folder, list(in_paths), analyst)
        _emit(retrain(_classifier(taxonomy_path, None), items, out_path))
    except TrainingDataError as exc:
        raise click.ClickException(str(exc)) from exc


@main.command()
@click.argument("article_id", required=False)
@click.argument("label", required=False, type=click.IntRange(0, 2))
@click.option("--note", default=None, help="Why (kept with the label).")
@click.option("--in", "in_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="JSON Lines of {article_id, label[, note]} instead of one ARTICLE_ID LABEL.")
@click.option("--by", "labelled_by", default=None, help="Who labels (default: $NEWSWATCH_ANALYST or the user).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
@db_option
def label(article_id: str | None, label: int | None, note: str | None, in_path: Path | None,
          labelled_by: str | None, as_json: bool, db: Path | None) -> None:
    """Store the analyst's judgement of an article: 2 core, 1 related, 0 not relevant."""
    from pipeline.classify.feedback import LabelError, record_labels
    from pipeline.store.labels import NewLabel

    if in_path is not None:
        try:
            entries = [NewLabel(str(r.get("article_id") or r["id"]), int(r["label"]), r.get("note"))
                       for r in _read_jsonl(in_path)]
        except (KeyError, TypeError, ValueError) as exc:
            raise click.ClickException(f"{in_path}: each line needs article_id and label ({exc!r})") from exc
    elif article_id is not None and label is not None:
        entries = [NewLabel(article_id, label, note)]
    else:
        raise click.UsageError("give ARTICLE_ID LABEL, or --in FILE.jsonl")
    try:
        stored = record_labels(_settings(db), entries, labelled_by)
    except LabelError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        _emit({"labels": stored})
    else:
        click.echo(f"{stored} label(s) stored")


@main.command()
@click.option("--days", type=click.IntRange(min=1), default=None, help="Only articles ingested in the last N days.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@taxonomy_option
@model_option
@db_option
def rescore(days: int | None, as_json: bool, taxonomy_path: Path | None, model_path: Path | None,
            db: Path | None) -> None:
    """Re-score stored articles with the current classifier (after a taxonomy edit or `train`)."""
    from pipeline.classify.feedback import rescore as run_rescore

    settings = _settings(db)
    summary = run_rescore(settings, _classifier(taxonomy_path, model_path), days)
    if as_json:
        _emit(summary.to_dict())
    else:
        click.echo(f"rescore {summary.run_id}: {summary.articles} articles, {summary.changed} labels changed "
                   f"({summary.raised} up, {summary.lowered} down) with {summary.classifier_version}")


@main.command()
@taxonomy_option
@model_option
@click.option("--days", type=click.IntRange(min=1), default=7, show_default=True, help="How many days back.")
@click.option("--json", "as_json", is_flag=True, help="Print the full result as JSON.")
@db_option
def backtest(taxonomy_path: Path | None, model_path: Path | None, days: int, as_json: bool, db: Path | None) -> None:
    """Re-score the warehouse's last N days with a candidate taxonomy and list the articles whose label would
    change. Writes nothing (`rescore` applies it)."""
    from pipeline.classify.evaluate import backtest as run_backtest
    from pipeline.store import open_warehouse

    settings = _settings(db)
    classifier = _classifier(taxonomy_path, model_path)
    with open_warehouse(settings) as wh:
        result = run_backtest(wh, classifier, days)
    if as_json:
        _emit(result)
        return
    click.echo(f"{result['articles']} articles in the last {days} days; {result['changed']} would change "
               f"({result['raised']} up, {result['lowered']} down) with {result['classifier_version']}")
    for change in result["changes"]:
        click.echo(f"  {change['old_label']} -> {change['new_label']}  {change['title'][:90]}")


def _pair_sets(paths: tuple[Path, ...], ref_dir: Path | None = None) -> list[Any]:
    from pipeline.story_training import StoryDataError, read_pair_set

    try:
        return [read_pair_set(path, ref_dir or PROJECT_ROOT.parent / "shared" / "eval") for path in paths]
    except StoryDataError as exc:
        raise click.ClickException(str(exc)) from exc


@main.command("eval-stories")
@click.option("--in", "in_paths", multiple=True, required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Labelled pairs {id, a, b, label} (repeatable; each file is clustered in one run).")
@click.option("--no-cv", is_flag=True, help="Skip the cross-validation of the threshold (faster).")
@click.option("--eval-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder of the files that pair references ({\"ref\": \"file:id:a\"}) point into "
                   "(default: ../shared/eval beside the project).")
@always_json
def eval_stories(in_paths: tuple[Path, ...], no_cv: bool, eval_dir: Path | None, as_json: bool) -> None:
    """Measure same-story detection on labelled pairs (2 same article, 1 same story, 0 different): precision,
    recall and F1 of same story, same-article recall, share of different pairs merged; then the frozen slice
    (pair keys with sha256 % 5 == 0), per language pair and per file, and cross-validated figures. A pair's
    side may reference a side in another file (tests/fixtures/cross_language_story_pairs.jsonl does)."""
    from pipeline.story_pairs import get_pair_model
    from pipeline.story_training import evaluate_story_sets

    _emit(evaluate_story_sets(_pair_sets(in_paths, eval_dir), get_pair_model(), with_cv=not no_cv))


@main.command("train-stories")
@click.option("--in", "in_paths", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Labelled pairs files (default: ../shared/eval/same_story_dev*.jsonl).")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the model (default: the bundled pipeline/story_model.json).")
@always_json
def train_stories(in_paths: tuple[Path, ...], out_path: Path | None, as_json: bool) -> None:
    """Rebuild the same-story decision (pair weights and threshold) from labelled pairs, deterministically."""
    from pipeline.story_pairs import DEFAULT_STORY_MODEL
    from pipeline.story_training import train_story_model

    paths = in_paths or tuple(sorted((PROJECT_ROOT.parent / "shared" / "eval").glob("same_story_dev*.jsonl")))
    if not paths:
        raise click.UsageError("no labelled pairs: give --in FILE (../shared/eval is absent)")
    model = train_story_model(_pair_sets(paths))
    target = out_path or DEFAULT_STORY_MODEL
    model.save(target)
    _emit({"model": str(target), "threshold": model.threshold, **model.trained_on})


@main.group()
def quarantine() -> None:
    """Items that failed validation: list them, show one, replay them after a fix."""


@quarantine.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per row (id, reasons, source_id, ...).")
@click.option("--all", "show_all", is_flag=True, help="Include released rows.")
@db_option
def quarantine_list(as_json: bool, show_all: bool, db: Path | None) -> None:
    """List quarantined items with the expectations they failed."""
    from pipeline.store import open_warehouse

    with open_warehouse(_settings(db)) as wh:
        rows = wh.quarantine.rows(None if show_all else "open")
    if as_json:
        for row in rows:
            _emit(row)
        return
    from tabulate import tabulate

    click.echo(tabulate([(r["id"], r["status"], r["source_id"], (r["title"] or "")[:50],
                          ", ".join(sorted({x["expectation"] for x in r["reasons"]}))) for r in rows],
                        headers=["id", "status", "source", "title", "failed expectations"]))


@quarantine.command("show")
@click.argument("quarantine_id")
@db_option
@always_json
def quarantine_show(quarantine_id: str, db: Path | None, as_json: bool) -> None:
    """Show one quarantined item in full, with its reasons and offending values (JSON)."""
    from pipeline.store import open_warehouse

    with open_warehouse(_settings(db)) as wh:
        row = wh.quarantine.get(quarantine_id)
    if row is None:
        raise click.ClickException(f"no quarantined item with id {quarantine_id}")
    click.echo(json.dumps(row, ensure_ascii=False, indent=2, default=str))


@quarantine.command("replay")
@click.option("--id", "ids", multiple=True, help="Replay only these ids (repeatable). Default: all open rows.")
@click.option("--json", "as_json", is_flag=True, help="Print the replay summary as JSON.")
@db_option
def quarantine_replay(ids: tuple[str, ...], as_json: bool, db: Path | None) -> None:
    """Re-validate quarantined items with the current code and rules and load what now passes."""
    from pipeline.ingest import replay_quarantine

    _report(replay_quarantine(_settings(db), list(ids) or None), as_json)


@main.command()
@click.argument("text")
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True, help="How many articles.")
@click.option("--days", type=click.IntRange(min=1), default=None, help="Only articles seen in the last N days.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per article (JSON Lines).")
@db_option
def search(text: str, limit: int, days: int | None, as_json: bool, db: Path | None) -> None:
    """Full-text search over article titles, summaries and bodies (DuckDB fts, BM25; accents folded, English
    stemming), best match first."""
    from pipeline.search import search_articles

    if not text.strip():
        raise click.UsageError("give words to search for")
    rows = search_articles(_settings(db), text, limit=limit, days=days)
    if as_json:
        for row in rows:
            _emit({k: _jsonable(v) for k, v in row.items()})
        return
    from tabulate import tabulate

    click.echo(tabulate([(f"{r['score']:.2f}", (r["title"] or "")[:70], r["source_name"][:24],
                          _jsonable(r["published_at"]) or "-", r["relevance_label"]) for r in rows],
                        headers=["score", "title", "source", "published", "label"]))


FEED_STATES = ["active", "failing", "silent", "retired", "disabled"]
feeds_file_option = click.option("--feeds", "feeds_file", type=click.Path(dir_okay=False, path_type=Path),
                                 default=None, help="Feed list to edit (default: $NEWSWATCH_FEEDS_FILE).")


@main.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per feed (JSON Lines).")
@click.option("--state", type=click.Choice(FEED_STATES), default=None, help="Only feeds in this state.")
@db_option
@click.pass_context
def feeds(ctx: click.Context, as_json: bool, state: str | None, db: Path | None) -> None:
    """Feed health (state: active, failing, silent, retired, disabled; last error, item counts, schedule), and
    the feed list: add (discovering a site's feed), remove, disable, enable, import and export OPML.

    The list file (NEWSWATCH_FEEDS_FILE, TOML) is the one source of truth; these commands edit it in place."""
    if ctx.invoked_subcommand is not None:
        return
    from pipeline.feeds.health import feed_health
    from pipeline.store import open_warehouse

    with open_warehouse(_settings(db)) as wh:
        rows = [r for r in feed_health(wh) if state in (None, r["state"])]
    if as_json:
        for row in rows:
            _emit(row)
        return
    from tabulate import tabulate

    click.echo(tabulate(
        [(r["name"], r["state"], r["item_count"], r["items_last_day"], r["last_success_at"] or "-",
          r["next_poll_at"] or "-", (r["last_error"] or "")[:60]) for r in rows],
        headers=["feed", "state", "items", "last 24h", "last success", "next poll", "last error"]))


def _list_path(feeds_file: Path | None) -> Path:
    return Path(feeds_file or get_settings().feeds_file)


def _feed_json(feed: Any) -> dict[str, Any]:
    from pipeline.redact import redact_url

    return {"name": feed.name, "url": redact_url(feed.url), "language": feed.language, "tags": list(feed.tags),
            "enabled": feed.enabled}


@feeds.command("add")
@click.argument("url")
@click.option("--name", default=None, help="Feed name (default: the feed's own title).")
@click.option("--language", default=None, help="ISO 639-1 code of the feed's language, e.g. de.")
@click.option("--tags", default="", help="Comma-separated tags.")
@feeds_file_option
@click.option("--json", "as_json", is_flag=True, help="Print the added feed as one JSON object.")
def feeds_add(url: str, name: str | None, language: str | None, tags: str, feeds_file: Path | None,
              as_json: bool) -> None:
    """Add a feed by its URL, or by a site's page URL (the feed it links to with <link rel="alternate"> is
    found and added)."""
    from pipeline.feeds.config import FeedConfig
    from pipeline.feeds.manage import add_feeds, discover_feed
    from pipeline.redact import redact_url

    if not url.startswith(("http://", "https://")):
        raise click.UsageError(f"URL must be http(s), got {url!r}")
    found = discover_feed(get_settings(), url)
    feed = FeedConfig(name=(name or found.title or found.url).strip(), url=found.url, language=language,
                      tags=tuple(t.strip() for t in tags.split(",") if t.strip()))
    added, _ = add_feeds(_list_path(feeds_file), [feed])
    if not added:
        raise click.ClickException(f"already listed: a feed named {feed.name!r} or with URL {redact_url(feed.url)}")
    if as_json:
        _emit(_feed_json(feed))
    else:
        click.echo(f"added {feed.name}: {redact_url(feed.url)}")


@feeds.command("remove")
@click.argument("name")
@feeds_file_option
def feeds_remove(name: str, feeds_file: Path | None) -> None:
    """Remove a feed from the list; the warehouse keeps its articles and marks it retired at the next run."""
    from pipeline.feeds.manage import remove_feed

    removed = remove_feed(_list_path(feeds_file), name)
    click.echo(f"removed {removed.name}")


@feeds.command("disable")
@click.argument("name")
@feeds_file_option
def feeds_disable(name: str, feeds_file: Path | None) -> None:
    """Keep a feed in the list but stop polling it (enabled = false)."""
    from pipeline.feeds.manage import set_enabled

    click.echo(f"disabled {set_enabled(_list_path(feeds_file), name, False).name}")


@feeds.command("enable")
@click.argument("name")
@feeds_file_option
def feeds_enable(name: str, feeds_file: Path | None) -> None:
    """Poll a disabled feed again."""
    from pipeline.feeds.manage import set_enabled

    click.echo(f"enabled {set_enabled(_list_path(feeds_file), name, True).name}")


@feeds.command("import")
@click.argument("opml_file", type=click.File("r", encoding="utf-8"))
@feeds_file_option
@click.option("--json", "as_json", is_flag=True, help="Print what was added and skipped as one JSON object.")
def feeds_import(opml_file: Any, feeds_file: Path | None, as_json: bool) -> None:
    """Add every feed of an OPML subscription list (a feed reader's export; folders become tags). Feeds
    already listed (same name or URL) are skipped."""
    from pipeline.feeds.manage import add_feeds, read_opml

    added, skipped = add_feeds(_list_path(feeds_file), read_opml(opml_file.read()))
    if as_json:
        _emit({"added": [f.name for f in added], "skipped": [f.name for f in skipped]})
    else:
        click.echo(f"imported {len(added)} feeds ({len(skipped)} already listed)")


@feeds.command("export")
@feeds_file_option
@click.option("--with-credentials", is_flag=True, help="Keep user:password@ and token parameters in the URLs.")
def feeds_export(feeds_file: Path | None, with_credentials: bool) -> None:
    """Print the feed list as OPML 2.0 (for any feed reader); credentials in URLs are redacted unless asked."""
    from dataclasses import replace

    from pipeline.feeds.config import load_feed_list
    from pipeline.feeds.manage import write_opml
    from pipeline.redact import redact_url

    listed = load_feed_list(_list_path(feeds_file))
    if not with_credentials:
        listed = [replace(f, url=redact_url(f.url) or f.url) for f in listed]
    click.echo(write_opml(listed), nl=False)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@db_option
def status(as_json: bool, db: Path | None) -> None:
    """One-line summary of the warehouse and the last ingest run."""
    from pipeline.status import warehouse_status

    settings = _settings(db)
    info = warehouse_status(settings)
    if as_json:
        _emit(info)
        return
    click.echo(status_line(info))


def status_line(info: dict[str, Any]) -> str:
    last = info.get("last_run") or {}
    feeds = info.get("feeds") or {}
    health = ", ".join(f"{n} {state}" for state, n in feeds.items()) or "none listed"
    return (
        f"newswatch: {info['articles']} articles in the warehouse ({info['relevant']} relevant, "
        f"{info['core']} core) in {info['stories']} stories; last ingest loaded {last.get('loaded', 0)} new, "
        f"feeds {last.get('feeds_ok', 0)} ok / {last.get('feeds_failed', 0)} failed; feeds now: {health}; "
        f"digest: {info.get('latest_digest') or 'none yet'}"
    )


if __name__ == "__main__":
    main()
