"""The CLI through its real console-script entry point and through click's runner (sqlite-utils style)."""

from __future__ import annotations

import json
import subprocess

import pytest
from click.testing import CliRunner

from pipeline.cli import main
from tests.conftest import VENV_BIN

COMMANDS = ["ingest", "replay", "digest", "query", "status", "feeds"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command):
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output and "--help" in result.output


def test_ingest_json_through_the_console_script(settings):
    args = [str(VENV_BIN / "newswatch"), "ingest", "--json", "--no-feeds"]
    first = json.loads(subprocess.run(args, capture_output=True, text=True, check=True).stdout)
    second = json.loads(subprocess.run(args, capture_output=True, text=True, check=True).stdout)
    for key in ("items_seen", "loaded", "updated", "duplicates", "quarantined", "feeds_ok", "feeds_failed"):
        assert key in first
    assert (first["items_seen"], first["loaded"]) == (5, 5)
    assert (second["loaded"], second["duplicates"]) == (0, 5)


def test_ingest_exits_zero_when_feeds_fail(settings, tmp_path):
    feeds = tmp_path / "feeds.toml"
    feeds.write_text('[[feeds]]\nname = "Dead"\nurl = "http://127.0.0.1:9/feed.xml"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["ingest", "--json", "--feeds", str(feeds)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["feeds_failed"] == 1 and summary["loaded"] == 5
    assert summary["feed_errors"][0]["feed"] == "Dead" and summary["feed_errors"][0]["error"]


def test_digest_and_query(settings, tmp_path):
    runner = CliRunner()
    assert runner.invoke(main, ["ingest", "--no-feeds"]).exit_code == 0
    out = tmp_path / "out"
    result = runner.invoke(main, ["digest", "--date", "2026-01-15", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["day"] == "2026-01-15" and (out / "2026-01-15.html").exists()
    rows = runner.invoke(main, ["query", "SELECT count(*) AS n FROM articles", "--format", "json"])
    assert json.loads(rows.output) == {"n": 5}
    bad = runner.invoke(main, ["query", "SELEC nonsense"])
    assert bad.exit_code != 0 and "Error" in bad.output


def test_status_line(settings):
    runner = CliRunner()
    runner.invoke(main, ["ingest", "--no-feeds"])
    result = runner.invoke(main, ["status"])
    assert result.exit_code == 0 and "5 articles" in result.output


def test_malformed_feed_list_is_a_clear_error(settings, tmp_path):
    feeds = tmp_path / "feeds.toml"
    feeds.write_text('[[feeds]]\nname = "A"\nurl = "ftp://nope"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["ingest", "--feeds", str(feeds)])
    assert result.exit_code == 1 and "needs an http(s) url" in result.output
