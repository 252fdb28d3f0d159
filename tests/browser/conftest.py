"""End-to-end tests in Debian's Chromium, driven by pytest-playwright against a live server.

Run with `uv run pytest -m browser` (needs /usr/bin/chromium, or CHROMIUM_PATH).
Screenshots land in ./screenshots/.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

# Playwright's sync API runs an event loop in the test thread; the ORM calls made by the
# test itself (creating demo data) are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(os.environ.get("UNSTUCK_SCREENSHOTS", "screenshots"))


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install -y chromium")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_FLAGS}


@pytest.fixture
def screenshot_dir() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
