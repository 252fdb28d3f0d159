"""End to end in Chromium: a manager writes a biased note on a deal, sees the gentle note,
sets it aside with a reason and saves the note; then takes a lesson and a quiz question.

Run with `uv run pytest -m browser`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from unstuck.core.models import Membership, Role, Team, Workspace
from unstuck.core.testing import PASSWORD, make_pipeline, make_user
from unstuck.deals.models import Activity, Deal
from unstuck.thinking.models import BiasFlag, FlagStatus, LessonCompletion

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def manager_deal() -> tuple[str, Deal]:
    workspace = Workspace.objects.create(name="Acme", slug="acme")
    _, stages = make_pipeline(workspace)
    manager = make_user("manager@acme.test", "Mia Manager")
    team = Team.objects.create(workspace=workspace, name="East", manager=manager)
    Membership.objects.create(workspace=workspace, user=manager, role=Role.MANAGER, team=team)
    deal = Deal.objects.create(
        workspace=workspace,
        name="Harbor expansion",
        pipeline=stages[0].pipeline,
        stage=stages[0],
        owner=manager,
        team=team,
        amount=Decimal("80000"),
        external_id="B-1",
    )
    return manager.email, deal


def test_a_flag_appears_beside_a_note_and_is_set_aside(
    live_server: Any, page: Any, manager_deal: tuple[str, Deal], sign_in: Callable[..., None]
) -> None:
    email, deal = manager_deal
    sign_in(page, email, PASSWORD)
    page.goto(f"{live_server.url}/w/acme/deals/{deal.pk}/")
    page.type("#id_note_summary", "Flopped in Denver, it will flop in Dallas.", delay=5)
    flag = page.locator("#deal-note .gentle-flag")
    flag.wait_for(timeout=10000)
    assert "Exportability" in flag.inner_text()
    assert "Denver" in flag.inner_text()
    page.locator("#deal-note .gentle-flag summary").click()
    page.fill("#deal-note .gentle-dismiss input", "Same buyer and budget cycle: we checked")
    page.locator("#deal-note .gentle-dismiss button").click()
    page.locator("#deal-note .gentle-flag.dismissed").wait_for(timeout=10000)
    page.click("#deal-note button.btn:not(.small)")
    page.wait_for_load_state()
    assert page.locator("#activities").get_by_text("Flopped in Denver").count() == 1
    stored = BiasFlag.objects.get()
    assert stored.status == FlagStatus.DISMISSED
    assert stored.dismiss_reason == "Same buyer and budget cycle: we checked"
    assert stored.subject == Activity.objects.get(deal=deal)


def test_a_manager_takes_a_lesson_and_answers_the_quiz(
    live_server: Any, page: Any, manager_deal: tuple[str, Deal], sign_in: Callable[..., None]
) -> None:
    email, _ = manager_deal
    sign_in(page, email, PASSWORD)
    page.goto(f"{live_server.url}/w/acme/thinking/training/legacy/")
    page.click(".lesson form button[type=submit]")
    page.wait_for_url(re.compile(r"/training/quiz/"))
    page.locator("button[name=chosen]").first.click()
    page.locator(".quiz-result").wait_for(timeout=10000)
    assert page.locator(".quiz-result p").count() >= 2  # the verdict and its explanation
    page.goto(f"{live_server.url}/w/acme/thinking/training/")
    assert "1 of 6 lessons read" in page.locator("#my-progress").inner_text()
    assert LessonCompletion.objects.filter(bias="legacy").exists()
