"""The investigation journey: a manager opens the innovation queue, reads why a deal is
flagged, asks the rep for a fact; the rep answers on the deal page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from unstuck.demo.generator import generate_demo
from unstuck.investigate.services import assessments_recompute

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_manager_asks_from_the_queue_and_the_rep_answers(
    live_server: object, page: Page, screenshot_dir: Path, sign_in: Callable[..., None]
) -> None:
    workspace = generate_demo(deals=300, seed=3).workspace
    assessments_recompute(workspace=workspace)
    base = str(live_server)
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, "manager@demo.example")
    expect(page.get_by_role("heading", name="Innovation queue")).to_be_visible()
    # Which deals count as stuck depends on the scorer this small workspace's back-test picks
    # on the day the test runs (a baseline can leave none at 40 or above): every open deal
    # is listed with its reasons either way.
    page.goto(f"{base}/w/demo/investigate/?show=all")
    expect(page.locator(".queue-item .reasons li").first).to_be_visible()
    page.screenshot(path=screenshot_dir / "queue-1280.png", full_page=True)

    # Ask the rep of a deal owned by rep@demo.example (the rep we sign in as next).
    deal = workspace.deals.filter(status="open", owner__email="rep@demo.example").first()
    assert deal is not None
    page.goto(f"{base}/w/demo/deals/{deal.pk}/")
    expect(page.get_by_role("heading", name="Investigation")).to_be_visible()
    due = (timezone.localdate() + timedelta(days=3)).isoformat()
    question = page.get_by_placeholder("e.g. Find out who signs above $250k")
    question.press_sequentially("Who signs above $250k?", delay=30)
    page.locator("input[name=due_date]").fill(due)  # a date picker: no keys to type
    page.wait_for_timeout(400)
    expect(question).to_have_value("Who signs above $250k?")
    page.get_by_role("button", name="Ask ").click()
    expect(page.locator("#investigation")).to_contain_text("Who signs above $250k?")

    page.context.clear_cookies()
    sign_in(page, "rep@demo.example")
    page.goto(f"{base}/w/demo/deals/{deal.pk}/")
    answer = page.locator("textarea[name=answer]").first
    answer.press_sequentially("The COO, above $200k; the CFO below.", delay=30)
    page.wait_for_timeout(400)
    expect(answer).to_have_value("The COO, above $200k; the CFO below.")
    page.locator("form[action*='answer'] button").first.click()
    expect(page.locator("#investigation")).to_contain_text("The COO, above $200k; the CFO below.")
    page.screenshot(path=screenshot_dir / "investigation-rep.png", full_page=True)
