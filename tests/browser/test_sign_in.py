"""Sign-in throttle in Chromium: after five wrong passwords the form says sign-in is paused,
and why; the right password is refused too until the pause ends."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from unstuck.demo.generator import generate_demo

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def attempt(page: Page, base: str, password: str) -> None:
    page.goto(f"{base}/sign-in/")
    page.get_by_label("Email").press_sequentially("rep@demo.example", delay=10)
    page.get_by_label("Password").press_sequentially(password, delay=10)
    page.get_by_role("button", name="Sign in").click()


def test_five_wrong_passwords_pause_sign_in_with_a_clear_message(
    live_server: object, page: Page, screenshot_dir: Path
) -> None:
    generate_demo(deals=20, seed=2)
    base = str(live_server)
    page.set_viewport_size({"width": 1280, "height": 900})
    for _ in range(4):
        attempt(page, base, "not-the-password")
        expect(page.locator(".errorlist")).to_contain_text("correct")
    attempt(page, base, "not-the-password")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Too many wrong passwords for rep@demo.example")
    expect(alert).to_contain_text("paused for 15 minutes")
    page.screenshot(path=screenshot_dir / "sign-in-locked-1280.png", full_page=True)
    attempt(page, base, "demo")  # the right one, still paused
    expect(page.get_by_role("alert")).to_contain_text("Too many wrong passwords")
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=screenshot_dir / "sign-in-locked-phone.png", full_page=True)
