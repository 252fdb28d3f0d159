"""Teams and roles in Chromium, typed the way a person types (issue 15.10): a leader creates a
team (pausing mid-name, longer than any debounce), is told a second team of the same name is
refused, renames it, gives it a manager, and moves a rep to it and then makes them a manager.
Each step is checked on the page and in the database: every character typed is stored, and
nothing else changed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from unstuck.core.models import Membership, Role, Team
from unstuck.demo.generator import generate_demo

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAUSE_MS = 700  # longer than the pages' debounce (500 ms), as a person stopping to think


def type_like_a_person(field: Locator, text: str) -> None:
    """Clear the field, then type the text in two bursts with a pause between them."""
    field.click()
    field.press("Control+a")
    field.press("Delete")
    half = len(text) // 2
    field.press_sequentially(text[:half], delay=40)
    field.page.wait_for_timeout(PAUSE_MS)
    field.press_sequentially(text[half:], delay=40)


def message(page: Page) -> Locator:
    return page.locator("ul.messages li").first


def test_a_leader_creates_renames_staffs_a_team_and_changes_a_role(
    live_server: Any, page: Page, screenshot_dir: Path, sign_in: Callable[..., None]
) -> None:
    generate_demo(deals=20, seed=3)
    base = str(live_server)
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, "leader@demo.example")
    page.goto(f"{base}/w/demo/settings/")
    teams_before = set(Team.objects.values_list("name", flat=True))

    # Create a team.
    type_like_a_person(page.locator("#new-team"), "Enterprise East")
    page.get_by_role("button", name="Create the team").click()
    expect(message(page)).to_have_text("Team Enterprise East created.")
    team = Team.objects.get(name="Enterprise East")
    expect(page.locator(f"#team-name-{team.pk}")).to_have_value("Enterprise East")

    # The same name again (another case) is refused with the reason, and nothing is added.
    type_like_a_person(page.locator("#new-team"), "enterprise east")
    page.get_by_role("button", name="Create the team").click()
    expect(message(page)).to_contain_text("There is already a team called")
    assert set(Team.objects.values_list("name", flat=True)) == teams_before | {"Enterprise East"}

    # Rename it.
    type_like_a_person(page.locator(f"#team-name-{team.pk}"), "Enterprise East & Central")
    page.locator(f"#team-name-{team.pk}").locator("xpath=..").get_by_role(
        "button", name="Save"
    ).click()
    expect(message(page)).to_have_text("Team Enterprise East & Central saved.")
    team.refresh_from_db()
    assert team.name == "Enterprise East & Central"
    assert team.manager_id is None

    # Give it a manager: one who manages another team already.
    manager = (
        Membership.objects.filter(role=Role.MANAGER, workspace__slug="demo")
        .select_related("user")
        .order_by("user__email")
        .first()
    )
    assert manager is not None
    page.locator(f"#team-manager-{team.pk}").select_option(label=manager.user.display_name)
    page.locator(f"#team-manager-{team.pk}").locator("xpath=..").get_by_role(
        "button", name="Save"
    ).click()
    expect(message(page)).to_have_text("Team Enterprise East & Central saved.")
    team.refresh_from_db()
    assert (team.name, team.manager_id) == ("Enterprise East & Central", manager.user_id)
    expect(page.locator(f"#team-manager-{team.pk}")).to_contain_text(manager.user.display_name)

    # Move a rep to the new team, then make them a manager (a manager belongs to no team).
    rep = Membership.objects.select_related("user").get(
        user__email="rep2@demo.example", workspace__slug="demo"
    )
    row = page.locator('tr[data-member="rep2@demo.example"]')
    row.locator(f"#team-{rep.pk}").select_option(label="Enterprise East & Central")
    row.get_by_role("button", name="Save").click()
    expect(message(page)).to_have_text(f"{rep.user.display_name} is now a rep.")
    rep.refresh_from_db()
    assert (rep.role, rep.team_id) == (Role.REP, team.pk)

    row = page.locator('tr[data-member="rep2@demo.example"]')
    row.locator(f"#role-{rep.pk}").select_option("manager")
    row.locator(f"#team-{rep.pk}").select_option("")
    row.get_by_role("button", name="Save").click()
    expect(message(page)).to_have_text(f"{rep.user.display_name} is now a manager.")
    rep.refresh_from_db()
    assert (rep.role, rep.team_id) == (Role.MANAGER, None)
    expect(page.locator(f"#role-{rep.pk}")).to_have_value("manager")
    page.screenshot(path=screenshot_dir / "people-teams-1280.png", full_page=True)
