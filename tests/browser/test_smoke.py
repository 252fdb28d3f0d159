"""The foundation's main journey: a manager signs in, reads the pipeline, opens a deal."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from unstuck.demo.generator import generate_demo

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_manager_signs_in_reads_pipeline_and_a_deal(
    live_server: object, page: Page, screenshot_dir: Path, sign_in: Callable[..., None]
) -> None:
    generate_demo(deals=150, seed=3)
    base = str(live_server)
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, "manager@demo.example")

    # Managers land on the innovation queue; the pipeline is one click away.
    expect(page.get_by_role("heading", name="Innovation queue")).to_be_visible()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Pipeline").click()
    expect(page.get_by_role("heading", name="Pipeline")).to_be_visible()
    rows = page.locator("table.deals tbody tr")
    expect(rows.first).to_be_visible()
    assert rows.count() > 10
    page.screenshot(path=screenshot_dir / "pipeline-1280.png", full_page=True)

    # Filtering by stage swaps the table in place (htmx) and keeps only that stage.
    page.get_by_label("Stage").select_option(label="Negotiation")
    expect(page).to_have_url(re.compile(r"stage=\d+"))
    chips = page.locator("table.deals tbody tr .chip")
    expect(chips.first).to_have_text("Negotiation")
    assert set(chips.all_inner_texts()) == {"Negotiation"}

    page.locator("table.deals a.deal-name").first.click()
    expect(page.get_by_role("heading", name="Stage timeline")).to_be_visible()
    expect(page.get_by_role("heading", name="Buying committee", exact=True)).to_be_visible()
    page.screenshot(path=screenshot_dir / "deal-1280.png", full_page=True)

    # Add a stakeholder through the inline htmx form.
    page.get_by_role("link", name="+ Add stakeholder").click()
    page.get_by_label("Name").fill("Ana Ruiz")
    page.get_by_label("Title").fill("CFO")
    page.get_by_label("Role in the decision").select_option(label="Economic buyer")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#stakeholders")).to_contain_text("Ana Ruiz")

    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=screenshot_dir / "deal-phone.png", full_page=True)
    page.goto(f"{base}/w/demo/deals/")
    page.screenshot(path=screenshot_dir / "pipeline-phone.png", full_page=True)
    for name in ["pipeline-1280", "deal-1280", "deal-phone", "pipeline-phone"]:
        assert (screenshot_dir / f"{name}.png").stat().st_size > 10_000


def test_rep_gets_not_found_for_the_other_teams_deal(
    live_server: object, page: Page, sign_in: Callable[..., None]
) -> None:
    from unstuck.deals.models import Deal

    generate_demo(deals=80, seed=5)
    other = Deal.objects.exclude(team__name="East").exclude(team=None).first()
    assert other is not None
    sign_in(page, "rep@demo.example")
    response = page.goto(f"{live_server}/w/demo/deals/{other.pk}/")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
