"""The Maven export through the import wizard in Chromium, with the shipped mapping and its
companion files (issue 14, item 3): the Columns step shows the name template and the stage
dates, the import gives the deals and their history, and the result offers to invite the
CRM owners the workspace does not have."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from unstuck.deals.models import StageChange
from unstuck.demo.generator import generate_demo
from unstuck.imports.models import ImportRun
from unstuck.imports.services import import_run_execute_stored
from unstuck.imports.tests.helpers import shared_data

pytestmark = [pytest.mark.browser, pytest.mark.shared_data, pytest.mark.django_db(transaction=True)]


def test_the_maven_export_through_the_wizard_with_the_shipped_mapping(
    live_server: Any, page: Page, screenshot_dir: Path
) -> None:
    folder = shared_data("maven-crm-sales-opportunities")
    demo = generate_demo(deals=20, seed=5).workspace
    base = str(live_server)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{base}/sign-in/")
    page.get_by_label("Email").press_sequentially("leader@demo.example", delay=10)
    page.get_by_label("Password").press_sequentially("demo", delay=10)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{base}/w/demo/imports/new/")
    page.locator("#id_deals").set_input_files(folder / "sales_pipeline.csv")
    page.locator("#id_saved_mapping").select_option("shipped:maven-crm.toml")
    page.locator("#id_companions").set_input_files(
        [folder / n for n in ("accounts.csv", "sales_teams.csv", "products.csv")]
    )
    page.get_by_role("button", name="Upload and detect").click()

    expect(page.locator("#tpl_name")).to_have_value("{product} — {account}")
    expect(page.locator("#sd_stage_0")).to_have_value("Engaging")
    expect(page.locator("#sd_col_0")).to_have_value("engage_date")
    expect(page.locator(".companions")).to_contain_text("sales_teams.csv")
    page.screenshot(path=screenshot_dir / "wizard-maven-columns.png", full_page=True)
    page.get_by_role("button", name="Preview").click()
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page).to_have_url(re.compile(r"/imports/\d+/$"))

    run = ImportRun.objects.get(workspace=demo, status="queued")
    import_run_execute_stored(run_id=run.pk)  # what `unstuck worker` does
    page.reload()
    expect(page.locator(".import-counts")).to_contain_text("8,800")
    assert StageChange.objects.filter(deal__workspace=demo, deal__source="maven").count() == 15511
    expect(page.get_by_role("heading", name=re.compile(r"Invite these \d+ owners"))).to_be_visible()
    page.screenshot(path=screenshot_dir / "wizard-maven-result.png", full_page=True)
