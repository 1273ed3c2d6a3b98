"""Shared fixtures: an isolated warehouse, digest and landing directory per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.settings import PROJECT_ROOT, Settings, get_settings

SHARED = PROJECT_ROOT.parent / "shared"
FIXTURES = Path(__file__).parent / "fixtures"
VENV_BIN = Path(os.environ.get("VIRTUAL_ENV", PROJECT_ROOT / ".venv")) / "bin"


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Settings pointing every writable location into tmp_path, also exported to the environment."""
    env = {
        "NEWSWATCH_DB": tmp_path / "newswatch.duckdb",
        "NEWSWATCH_DIGEST_DIR": tmp_path / "digests",
        "NEWSWATCH_LANDING_DIR": tmp_path / "landing",
        "NEWSWATCH_FEEDS_FILE": tmp_path / "no-feeds.toml",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, str(value))
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


def shared_path(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not available (../shared is absent)")
    return path
