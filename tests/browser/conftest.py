"""End-to-end tests in Debian's Chromium, driven by pytest-playwright against a live server.

Run with `uv run pytest -m browser` (needs /usr/bin/chromium, or CHROMIUM_PATH).
Screenshots land in ./screenshots/. Tests sign in through the `sign_in` fixture below, the one
way a browser test signs someone in.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from unstuck.demo.generator import DEMO_PASSWORD

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


@pytest.fixture(scope="session")
def base_url(pytestconfig: pytest.Config) -> str | None:
    """pytest-playwright's own `base_url` (--base-url, or the ini's base_url), defined here as
    a plain function: the plugin's is a session fixture on a plugin object's instance method,
    which pytest deprecates (PytestRemovedIn10Warning) whenever it runs."""
    return pytestconfig.getoption("--base-url") or pytestconfig.getini("base_url") or None


@pytest.fixture
def screenshot_dir() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture
def sign_in(live_server: Any) -> Callable[..., None]:
    """`sign_in(page, email, password=DEMO_PASSWORD)`: sign `page` in as `email` through the
    sign-in form, typed key by key as a person would, and return once the signed-in page shows.

    Cookies are cleared first, so the same page can sign in as someone else."""
    base = str(live_server)

    def sign_in(page: Page, email: str, password: str = DEMO_PASSWORD) -> None:
        page.context.clear_cookies()
        page.goto(f"{base}/sign-in/")
        page.get_by_label("Email").press_sequentially(email, delay=10)
        page.get_by_label("Password").press_sequentially(password, delay=10)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    return sign_in
