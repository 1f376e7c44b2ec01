"""The real browser: Debian's chromium, driven by Playwright (never a downloaded browser)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

REQUIRE_BROWSER = os.environ.get("AGENTSVIEW_REQUIRE_BROWSER") == "1"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
ARTIFACTS = Path(os.environ.get("AGENTSVIEW_ARTIFACTS_DIR")
                 or Path(tempfile.gettempdir()) / "agentsview-screenshots")


def chromium_path() -> str | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    return found if found else None


def launch(playwright):
    path = chromium_path()
    if path is None:
        reason = "Debian's chromium is not installed (apt-get install chromium)"
        if REQUIRE_BROWSER:
            pytest.fail(f"AGENTSVIEW_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    return playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)


def screenshot(page, name: str) -> Path:
    """Keep a picture of the page as a test artifact."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
