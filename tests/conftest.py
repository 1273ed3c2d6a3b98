"""Shared fixtures: an isolated warehouse, digest and landing directory per test."""

from __future__ import annotations

import email
import email.policy
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from pipeline.settings import PROJECT_ROOT, Settings, get_settings
from tests.feeds_server import threaded_server  # noqa: F401 (fixture: a loopback feed server answering in parallel)
from tests.services import free_port, postgres, s3  # noqa: F401 (free_port for tests; fixtures: loopback PostgreSQL and S3)

SHARED = PROJECT_ROOT.parent / "shared"
FIXTURES = Path(__file__).parent / "fixtures"
VENV_BIN = Path(os.environ.get("VIRTUAL_ENV", PROJECT_ROOT / ".venv")) / "bin"


@pytest.fixture(scope="session", autouse=True)
def validation_pages_outside_the_project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every run in the suite (subprocesses included) writes its GX Data Docs pages into a temporary folder,
    never into the project's warehouse/validation."""
    previous = os.environ.get("NEWSWATCH_VALIDATION_DIR")
    os.environ["NEWSWATCH_VALIDATION_DIR"] = str(tmp_path_factory.mktemp("validation"))
    get_settings.cache_clear()
    yield
    if previous is None:
        os.environ.pop("NEWSWATCH_VALIDATION_DIR", None)
    else:
        os.environ["NEWSWATCH_VALIDATION_DIR"] = previous


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Settings pointing every writable location into tmp_path, also exported to the environment."""
    env = {
        "NEWSWATCH_DB": tmp_path / "newswatch.duckdb",
        "NEWSWATCH_DIGEST_DIR": tmp_path / "digests",
        "NEWSWATCH_LANDING_DIR": tmp_path / "landing",
        "NEWSWATCH_FEEDS_FILE": tmp_path / "no-feeds.toml",
        "NEWSWATCH_VALIDATION_DIR": tmp_path / "validation",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, str(value))
    env["NEWSWATCH_FEEDS_FILE"].write_text("# no feeds: seeds only\n", encoding="utf-8")
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


def shared_path(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not available (../shared is absent)")
    return path


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, inbox
    if controller.loop.is_running():
        controller.stop()
