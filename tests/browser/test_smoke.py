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
    workspace = generate_demo(deals=150, seed=3).workspace
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

    # Search as a person types: key by key (faster than the 300 ms debounce), then a pause
    # longer than it; the table swaps in place and the box keeps every key typed.
    page.get_by_label("Stage").select_option(label="All stages")
    open_deals = workspace.deals.filter(status="open").order_by("pk")
    account = open_deals.values_list("account__name", flat=True).first()
    assert account
    word = account.split()[0]
    search = page.get_by_label("Search")
    search.press_sequentially(word, delay=60)
    page.wait_for_timeout(600)
    expect(page).to_have_url(re.compile(rf"q={re.escape(word)}"))
    names = page.locator("table.deals tbody a.deal-name")
    expect(names.first).to_contain_text(word)
    assert all(word in name for name in names.all_inner_texts())
    expect(search).to_have_value(word)
    search.press_sequentially(" zzz-no-such-deal", delay=60)
    page.wait_for_timeout(600)
    expect(page.locator("#pipeline-table")).to_contain_text("No deals match these filters.")
    expect(search).to_have_value(f"{word} zzz-no-such-deal")
    search.fill("")
    search.press("Enter")
    expect(names.first).to_be_visible()

    page.locator("table.deals a.deal-name").first.click()
    expect(page.get_by_role("heading", name="Stage timeline")).to_be_visible()
    expect(page.get_by_role("heading", name="Buying committee", exact=True)).to_be_visible()
    page.screenshot(path=screenshot_dir / "deal-1280.png", full_page=True)

    # Add a stakeholder through the inline htmx form, typed key by key; every field typed
    # comes back in the committee, and the edit form opens with all of it.
    page.get_by_role("link", name="+ Add stakeholder").click()
    form = page.locator("#stakeholder-form form")
    expect(form.get_by_label("Name")).to_be_visible()
    form.get_by_label("Name").press_sequentially("Ana Ruiz", delay=30)
    form.get_by_label("Title").press_sequentially("CFO, EMEA", delay=30)
    form.get_by_label("Email").press_sequentially("ana.ruiz@example.com", delay=30)
    form.get_by_label("Role in the decision").select_option(label="Economic buyer")
    form.get_by_label("Notes").press_sequentially("Signs above $250k; wants payback in a year.")
    page.wait_for_timeout(400)
    expect(form.get_by_label("Notes")).to_have_value("Signs above $250k; wants payback in a year.")
    form.get_by_role("button", name="Save", exact=True).click()
    committee = page.locator("#stakeholders")
    expect(committee).to_contain_text("Ana Ruiz")
    expect(committee).to_contain_text("CFO, EMEA")
    committee.locator(".stakeholder", has_text="Ana Ruiz").get_by_role("link", name="Edit").click()
    edit = page.locator("#stakeholder-form form")
    expect(edit.get_by_label("Email")).to_have_value("ana.ruiz@example.com")
    expect(edit.get_by_label("Notes")).to_have_value("Signs above $250k; wants payback in a year.")
    expect(edit.get_by_label("Role in the decision")).to_have_value("economic_buyer")

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
