"""The insights journey on a fresh demo: the manager sees twelve weeks of their time split and
the innovated-versus-comparable comparison with its interval and n, corrects a week in the
check-in; the leader sees every manager side by side. Desktop and 390 px phone width."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from unstuck.demo.generator import generate_demo
from unstuck.insights.models import CheckIn, InsightsRun
from unstuck.insights.services import insights_recompute

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_manager_and_leader_see_time_split_and_what_innovation_changed(
    live_server: object, page: Page, screenshot_dir: Path, sign_in: Callable[..., None]
) -> None:
    workspace = generate_demo(deals=600, seed=7).workspace
    run = insights_recompute(run=InsightsRun.objects.create(workspace=workspace))
    assert run.status == "done", run.error
    base = str(live_server)

    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, "manager@demo.example")
    page.get_by_role("link", name="Insights").click()
    expect(page.get_by_role("heading", name="Insights", exact=True)).to_be_visible()
    expect(page.locator(".demo-note")).to_contain_text("generated history")
    time = page.locator("#time")
    expect(time.locator("svg.chart")).to_be_visible()
    expect(time.locator("tbody tr")).to_have_count(12)
    effect = page.locator("#effect")
    expect(effect.locator(".headline")).to_contain_text("Deals you innovated on")
    expect(effect.locator(".headline")).to_contain_text("90% interval")
    expect(effect.locator(".headline")).to_contain_text("n = ")
    expect(effect.locator("svg.chart").first).to_be_visible()
    expect(effect).to_contain_text("Win rate (90% interval)")
    page.screenshot(path=screenshot_dir / "insights-manager-1280.png", full_page=True)

    # The check-in: type the week's split like a person, then save.
    form = page.locator("#checkin")
    for name, value in (("innovation", "30"), ("coaching", "10"), ("efficiency", "40"),
                        ("admin", "20")):  # fmt: skip
        field = form.locator(f"input[name={name}]")
        field.fill("")
        field.press_sequentially(value, delay=40)
    page.wait_for_timeout(300)
    for name, value in (("innovation", "30"), ("efficiency", "40")):
        expect(form.locator(f"input[name={name}]")).to_have_value(value)
    form.get_by_role("button", name="Save my week").click()
    expect(page.locator(".messages")).to_contain_text("your week is corrected")
    expect(page.locator("#time tbody tr").last).to_contain_text("check-in")
    saved = CheckIn.objects.get(
        user__email="manager@demo.example", week=CheckIn.objects.latest("week").week
    )
    assert (saved.innovation, saved.coaching, saved.efficiency, saved.admin) == (30, 10, 40, 20)

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    expect(page.locator("#time svg.chart")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing spills out
    page.screenshot(path=screenshot_dir / "insights-manager-390.png", full_page=True)
    for section in ("time", "effect"):
        page.locator(f"#{section}").screenshot(
            path=screenshot_dir / f"insights-manager-390-{section}.png"
        )

    page.context.clear_cookies()
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, "leader@demo.example")
    page.goto(f"{base}/w/demo/insights/")
    side = page.locator("#side-by-side")
    expect(side.locator("tbody tr")).to_have_count(2)
    expect(side).to_contain_text("Every manager, side by side")
    expect(page.locator("#empowerment")).to_contain_text("Decisions within the guardrails")
    expect(page.locator("#empowerment")).to_contain_text("fewer than 3 answers")
    expect(page.locator("#effect .headline")).to_contain_text("Deals innovated on")
    expect(page.locator("#funnel svg.chart")).to_be_visible()
    expect(page.locator("#stuck svg.chart")).to_be_visible()
    page.screenshot(path=screenshot_dir / "insights-leader-1280.png", full_page=True)
    for section in ("side-by-side", "empowerment", "stuck"):
        page.locator(f"#{section}").screenshot(
            path=screenshot_dir / f"insights-leader-1280-{section}.png"
        )
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=screenshot_dir / "insights-leader-390.png", full_page=True)
