"""Hostile or unlucky files in the seeds folder: each ends as a quarantined row with its reason, the good seeds
load, and nothing hangs (a FIFO), escapes the folder (a symlink) or loads binary garbage."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli import main
from pipeline.sources.seeds import MAX_SEED_BYTES, load_seeds

GOOD = "date 2025-03-04 NATO defence ministers met in Brussels on Tuesday to agree new air defence plans.\n"


def _folder(tmp_path: Path) -> Path:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "good.txt").write_text(GOOD, encoding="utf-8")
    for n, place in enumerate(["Vilnius", "Tallinn", "Riga", "Warsaw"], 2):  # enough good ones to pass the gate
        (seeds / f"good{n}.txt").write_text(f"date 2025-03-0{n} Allied defence chiefs met in {place} to review "
                                            f"eastern flank readiness, officials said.\n", encoding="utf-8")
    (seeds / "folder.txt").mkdir()
    os.mkfifo(seeds / "pipe.txt")
    outside = tmp_path / "secret.txt"
    outside.write_text("root:x:0:0:root:/root:/bin/bash\n", encoding="utf-8")
    (seeds / "passwd.txt").symlink_to(outside)
    (seeds / "binary.txt").write_bytes(bytes(range(256)) * 40)
    (seeds / "huge.txt").write_bytes(b"NATO " * (MAX_SEED_BYTES // 5 + 10))
    (seeds / "latin1.txt").write_bytes("date 2025-03-05 Sécurité européenne : les ministres de la défense "
                                       "réunis à Bruxelles.\n".encode("latin-1"))
    (seeds / "utf16.txt").write_bytes("date 2025-03-06 Bundeswehr übt an der Ostflanke mit Verbündeten.\n"
                                      .encode("utf-16"))
    return seeds


def test_unreadable_seeds_are_flagged_with_a_reason_and_good_ones_load(tmp_path: Path):
    items = {item.guid: item for item in load_seeds(_folder(tmp_path))}
    rejected = {name: item.raw["reason"] for name, item in items.items() if "source_unreadable" in item.flags}
    assert set(rejected) == {"folder.txt", "pipe.txt", "passwd.txt", "binary.txt", "huge.txt"}
    assert "directory" in rejected["folder.txt"] and "FIFO" in rejected["pipe.txt"]
    assert "outside" in rejected["passwd.txt"] and "binary" in rejected["binary.txt"]
    assert "cap" in rejected["huge.txt"]
    assert "root:x" not in json.dumps([i.raw for i in items.values()])
    assert "Sécurité européenne" in items["latin1.txt"].body
    assert items["utf16.txt"].published_at is not None and "Ostflanke" in items["utf16.txt"].body
    assert "NATO defence ministers" in items["good.txt"].body


@pytest.mark.timeout(120)
def test_ingest_quarantines_bad_seeds_and_loads_the_rest(settings, tmp_path: Path, monkeypatch):
    seeds = _folder(tmp_path)
    monkeypatch.setenv("NEWSWATCH_SEEDS_DIR", str(seeds))
    from pipeline.settings import get_settings

    get_settings.cache_clear()
    runner = CliRunner()
    result = runner.invoke(main, ["ingest", "--no-feeds", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["loaded"] == 7 and summary["quarantined"] == 5
    rows = [json.loads(line) for line in runner.invoke(main, ["quarantine", "list", "--json"]).output.splitlines()]
    assert len(rows) == 5
    assert all(any(r["expectation"] == "source_readable" for r in row["reasons"]) for row in rows)
