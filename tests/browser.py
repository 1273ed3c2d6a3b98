"""Headless Chromium (Debian's chromium + chromium-driver) for tests that look at what users see."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars"]

requires_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed")


def screenshot_file(html_path: Path, png_path: Path, width: int = 900, height: int = 2400) -> Path:
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}",
                        f"--screenshot={png_path}", html_path.resolve().as_uri()],
                       check=True, capture_output=True, timeout=120)
    return png_path
