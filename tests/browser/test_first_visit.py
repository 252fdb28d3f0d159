"""A team's first visit, in Chromium: the demo is scored as it is built, so the queue is ranked
on the first visit; a workspace never scored says "scoring…" (not "0 of 0 open") and shows the
queue by itself once the scoring is done."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from unstuck.demo.generator import generate_demo
from unstuck.investigate.services import assessments_recompute

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_demo_queue_is_scored_on_the_first_visit(
    live_server: object, page: Page, screenshot_dir: Path, sign_in: Callable[..., None]
) -> None:
    call_command("demo", "--no-serve", "--deals", "60", stdout=io.StringIO())
    page.set_viewport_size({"width": 1300, "height": 900})
    sign_in(page, "manager@demo.example")
    expect(page.get_by_role("heading", name="Innovation queue")).to_be_visible()
    stuck = page.locator(".stat").first
    expect(stuck).to_contain_text(re.compile(r"of [1-9]\d* open"))
    expect(page.get_by_text("scoring…")).to_have_count(0)
    expect(page.locator(".queue-item").first).to_be_visible()
    # "Scored now" within a second of the scoring, "Scored 3 seconds ago" after.
    expect(page.get_by_text(re.compile(r"Scored (now|.* ago)"))).to_be_visible()
    page.screenshot(path=screenshot_dir / "first-visit-1-demo-queue.png", full_page=True)


def test_a_workspace_never_scored_says_scoring_then_shows_its_queue(
    live_server: object, page: Page, screenshot_dir: Path, sign_in: Callable[..., None]
) -> None:
    result = generate_demo(deals=40, seed=5)
    page.set_viewport_size({"width": 1300, "height": 900})
    sign_in(page, "manager@demo.example")
    stuck = page.locator(".stat").first
    expect(stuck).to_contain_text("scoring…")
    expect(page.get_by_text("of 0 open")).to_have_count(0)
    page.screenshot(path=screenshot_dir / "first-visit-2-scoring.png", full_page=True)
    # The worker scores it; the page, waiting, refreshes itself and shows the ranked queue.
    assessments_recompute(workspace=result.workspace)
    expect(stuck).to_contain_text(re.compile(r"of [1-9]\d* open"), timeout=15_000)
    expect(page.locator(".queue-item").first).to_be_visible()
