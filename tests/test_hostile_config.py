"""Hostile or mistaken configuration and a sick disk: each is one clear line and a non-zero exit, found before
any work, never a hang or a misleading message."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.feeds.parallel import _start_worker
from pipeline.store import open_warehouse
from tests.conftest import VENV_BIN


def _newswatch(*args: str, env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    result = subprocess.run([str(VENV_BIN / "newswatch"), *args], env={**os.environ, **env}, capture_output=True,
                            text=True, timeout=120, check=False)
    return result, time.monotonic() - started


def test_a_warehouse_path_that_cannot_exist_fails_at_once(tmp_path: Path):
    result, elapsed = _newswatch("ingest", "--no-feeds", "--no-seeds", env={"NEWSWATCH_DB": "/proc/newswatch.duckdb"})
    assert result.returncode == 1 and elapsed < 60  # not 600 s waiting on a lock that can never be taken
    assert "cannot use /proc/newswatch.duckdb as a warehouse" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_feed_list_typo_is_an_error_not_zero_feeds(tmp_path: Path):
    result, _ = _newswatch("ingest", "--no-seeds", env={"NEWSWATCH_DB": str(tmp_path / "w.duckdb"),
                                                        "NEWSWATCH_FEEDS_FILE": str(tmp_path / "feeds.tmol")})
    assert result.returncode == 1
    assert f"feed list {tmp_path / 'feeds.tmol'} does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_error_that_aborted_a_transaction_is_the_one_reported(settings):
    """When DuckDB has already aborted the transaction (as on a full disk), the real error surfaces, not
    "cannot rollback - no transaction is active"."""
    with (open_warehouse(settings, write=True) as wh, pytest.raises(OSError, match="No space left on device"),
          wh.transaction()):
        wh.query("ROLLBACK")  # the transaction is gone, as after a failed write
        raise OSError(28, "No space left on device")


def test_parse_workers_end_with_the_run_that_started_them():
    """A parse worker's watchdog ends it within seconds of its parent's death (SIGKILL leaves no one to stop
    the pool)."""
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    gone_pid = int(dead.stdout)  # a pid that has exited: the "parent" of the worker below
    pid = os.fork()
    if pid == 0:
        try:
            _start_worker(gone_pid)
            time.sleep(30)
        finally:
            os._exit(0)
    started = time.monotonic()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 1 and time.monotonic() - started < 10
