"""`make bench` must keep working: its end-to-end size run, on a small corpus, through the same entry point.
No timing is asserted here (speed targets live in `make bench`); the shape and the accounting are."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from pipeline.scaleout import postgres_bin
from pipeline.settings import PROJECT_ROOT


def test_bench_size_run_processes_the_whole_corpus_and_removes_its_scratch_folder(tmp_path):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    result = subprocess.run([sys.executable, "-m", "tests.bench.run", "--size", "400"], cwd=PROJECT_ROOT,
                            capture_output=True, text=True, timeout=600, env={**os.environ, "TMPDIR": str(scratch)})
    assert result.returncode == 0, result.stderr[-3000:]
    assert not list(scratch.glob("newswatch-bench-*"))  # the landed corpus and its warehouse are gone
    run = json.loads(result.stdout.strip().splitlines()[-1])
    counts = run["counts"]
    assert run["items"] == 400 and counts["items_seen"] == 400
    # the corpus holds duplicates and bad rows on purpose: all three outcomes occur and together cover every item
    assert counts["loaded"] > 0 and counts["duplicates"] > 0 and counts["quarantined"] > 0
    assert counts["loaded"] + counts["duplicates"] + counts["quarantined"] == counts["items_seen"]
    assert {"parse", "dedup", "classify", "validate", "load"} <= set(run["stages"])
    assert run["end_to_end_items_per_s"] > 0 and run["feedparser_floor_items_per_s"] > 0


def test_bench_small_runs_load_two_seeds_then_find_nothing_new(tmp_path):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    result = subprocess.run([sys.executable, "-m", "tests.bench.run", "--small"], cwd=PROJECT_ROOT,
                            capture_output=True, text=True, timeout=600, env={**os.environ, "TMPDIR": str(scratch)})
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["new_items"] == 2 and figures["nothing_new_items"] == 0
    assert figures["new_wall_s"] > 0 and figures["nothing_new_wall_s"] > 0
    assert not list(scratch.glob("newswatch-small-*"))


@pytest.mark.cluster
@pytest.mark.skipif(postgres_bin() is None, reason="PostgreSQL not installed (make cluster-deps)")
def test_bench_lake_load_loads_the_same_corpus_into_the_file_and_both_lakes():
    result = subprocess.run([sys.executable, "-m", "tests.bench.run", "--lake-load", "300"], cwd=PROJECT_ROOT,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    loaded = {name: figures[name]["loaded"] for name in ("duckdb_file", "ducklake_s3", "ducklake_folder")}
    assert len(set(loaded.values())) == 1 and loaded["duckdb_file"] > 0, loaded
    assert all(figures[name]["load_vs_file"] > 0 for name in ("ducklake_s3", "ducklake_folder"))
