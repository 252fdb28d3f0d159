"""People in Chromium (issue 14, item 4): a leader invites someone from the workspace page,
the invited person sets a password from the emailed link and lands in the workspace, and the
leader deactivates them (their access goes)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings
from playwright.sync_api import Browser, Page, expect

from unstuck.demo.generator import generate_demo

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_leader_invites_the_link_sets_a_password_and_deactivating_ends_access(
    live_server: Any,
    page: Page,
    browser: Browser,
    mailoutbox: list[Any],
    screenshot_dir: Path,
    sign_in: Callable[..., None],
) -> None:
    generate_demo(deals=20, seed=3)
    base = str(live_server)
    with override_settings(SITE_URL=base):
        page.set_viewport_size({"width": 1280, "height": 900})
        sign_in(page, "leader@demo.example")
        page.goto(f"{base}/w/demo/settings/")
        page.locator("#invite-email").press_sequentially("nina.park@demo.example", delay=15)
        page.locator("#invite-name").press_sequentially("Nina Park", delay=15)
        page.locator("#invite-role").select_option("rep")
        page.locator("#invite-team").select_option(index=1)
        page.get_by_role("button", name="Send the invitation").click()
        row = page.locator('tr[data-member="nina.park@demo.example"]')
        expect(row).to_contain_text("invited")
        page.screenshot(path=screenshot_dir / "people-invited-1280.png", full_page=True)
        assert len(mailoutbox) == 1
        link = re.search(r"https?://\S+/invite/\S+", mailoutbox[0].body)
        assert link, mailoutbox[0].body

        invited = browser.new_context().new_page()
        invited.goto(link.group(0))
        expect(invited.get_by_role("heading")).to_contain_text("Welcome, Nina Park")
        invited.get_by_label("Password", exact=True).press_sequentially("park-bench-42-x", delay=10)
        invited.get_by_label("The same again").press_sequentially("park-bench-42-x", delay=10)
        invited.get_by_role("button", name="Set my password and sign in").click()
        expect(invited).to_have_url(re.compile(r"/w/demo/"))

        page.reload()
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=screenshot_dir / "people-phone.png", full_page=True)
        page.set_viewport_size({"width": 1280, "height": 900})
        page.locator('tr[data-member="nina.park@demo.example"]').get_by_role(
            "button", name="Deactivate"
        ).click()
        expect(page.locator('tr[data-member="nina.park@demo.example"]')).to_contain_text(
            "deactivated"
        )
        invited.goto(f"{base}/w/demo/deals/")
        expect(invited).to_have_url(re.compile(r"/sign-in/"))
