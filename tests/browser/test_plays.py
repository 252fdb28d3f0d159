"""The playbook loop in Chromium: a manager's decided session whose deal was then won shows
the proposed outcome, the manager confirms it and promotes the decision to a play in one
click, verifies it, and the play is suggested on another stuck deal with the same obstacle,
where the rep records it as applied in one click. Desktop and 390 px phone width."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from unstuck.cocreate.models import Option, Phase, Session
from unstuck.core.models import Membership, Role, Team, User, Workspace
from unstuck.core.testing import make_pipeline
from unstuck.deals.models import Deal, StageChange
from unstuck.investigate.models import Obstacle
from unstuck.share.models import Play, PlayApplication

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _world() -> tuple[Session, Deal]:
    ws = Workspace.objects.create(name="Acme", slug="acme")
    _, stages = make_pipeline(ws)
    manager = User.objects.create_user("manager@acme.test", "demo", name="Maria Manager")
    rep = User.objects.create_user("rep@acme.test", "demo", name="Remy Rep")
    team = Team.objects.create(workspace=ws, name="East", manager=manager)
    Membership.objects.create(workspace=ws, user=manager, role=Role.MANAGER)
    Membership.objects.create(workspace=ws, user=rep, role=Role.REP, team=team)
    now = timezone.now()

    def deal(name: str, external: str) -> Deal:
        d = Deal.objects.create(
            workspace=ws, name=name, pipeline=stages[0].pipeline, stage=stages[1],
            status="open", amount=Decimal("80000"), owner=rep, team=team,
            external_id=external, created_at=now - timedelta(days=60),
            stage_entered_at=now - timedelta(days=40),
        )  # fmt: skip
        StageChange.objects.create(deal=d, to_stage=stages[0], changed_at=now - timedelta(days=60))
        StageChange.objects.create(
            deal=d, from_stage=stages[0], to_stage=stages[1], changed_at=now - timedelta(days=40)
        )
        Obstacle.objects.create(deal=d, kind="budget", description="Budget frozen until Q1")
        return d

    won_deal = deal("Globex rollout", "B-1")
    stuck = deal("Initech analytics", "B-2")
    session = Session.objects.create(
        workspace=ws, deal=won_deal, ideal_outcome="One forecast the board trusts",
        started_by=manager, phase=Phase.DECIDED, decided_by=manager,
        decided_at=now - timedelta(days=20),
        rationale="A paid pilot fits this year's budget and keeps momentum.",
    )  # fmt: skip
    session.obstacles.set(won_deal.obstacles.all())
    Option.objects.create(
        session=session, title="Paid regional pilot",
        description="Pilot one region now; the full rollout next fiscal year at today's price.",
        author=manager, is_chosen=True,
    )  # fmt: skip
    # After the decision the deal was won.
    StageChange.objects.create(
        deal=won_deal, from_stage=stages[1], to_stage=stages[4],
        changed_at=now - timedelta(days=3),
    )  # fmt: skip
    won_deal.stage, won_deal.status, won_deal.closed_at = stages[4], "won", now - timedelta(days=3)
    won_deal.save()
    return session, stuck


def test_decide_win_promote_suggest_apply(
    live_server: object, page: Page, screenshot_dir: Path, sign_in: Callable[..., None]
) -> None:
    session, stuck = _world()
    base = str(live_server)
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, "manager@acme.test")

    # The session proposes its outcome from the deal's later stage moves; the manager confirms.
    page.goto(f"{base}/w/acme/cocreate/sessions/{session.pk}/")
    expect(page.locator("#outcome-proposal")).to_contain_text("the deal was won on")
    expect(page.locator("#id_outcome")).to_have_value("won")
    page.get_by_role("button", name="Record the outcome").click()
    expect(page.locator("#outcome .chip")).to_have_text("Won")

    # One click promotes the decision to a draft play, prefilled; the manager verifies it.
    page.get_by_role("button", name="Promote to a play").click()
    expect(page.get_by_role("heading", name="Paid regional pilot")).to_be_visible()
    expect(page.locator("#play-text")).to_contain_text("Budget")
    expect(page.locator("#play-text")).to_contain_text("Pilot one region now")
    expect(page.locator("#play-text")).to_contain_text("outcome: won")
    page.get_by_role("button", name="Verify").click()
    expect(page.locator(".page-head .chip")).to_have_text("Verified")
    expect(page.locator("#outcome")).to_contain_text("Too early to tell")
    page.screenshot(path=screenshot_dir / "plays-1-promoted.png", full_page=True)
    play = Play.objects.get(source_session=session)

    # On another stuck deal with the same obstacle the rep finds it suggested, and applies it.
    page.context.clear_cookies()
    sign_in(page, "rep@acme.test")
    page.goto(f"{base}/w/acme/deals/{stuck.pk}/")
    card = page.locator("#deal-plays")
    expect(card).to_contain_text("Plays that fit this deal")
    expect(card).to_contain_text("answers the budget obstacle")
    expect(card).to_contain_text("too early to tell")
    card.get_by_role("button", name="Record as applied").click()
    expect(page.locator(".messages")).to_contain_text("applied to Initech analytics")
    expect(page.locator("#deal-plays")).to_contain_text("Paid regional pilot")
    page.screenshot(path=screenshot_dir / "plays-2-applied-desktop.png", full_page=True)
    application = PlayApplication.objects.get(play=play)
    assert (application.deal_id, application.source) == (stuck.pk, "suggestion")
    assert application.stall_score > 0  # scored live: the deal had not been assessed yet

    # The same pages at phone width.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{base}/w/acme/share/plays/{play.pk}/")
    expect(page.locator("#applications")).to_contain_text("Initech analytics")
    page.screenshot(path=screenshot_dir / "plays-3-play-phone.png", full_page=True)
    page.goto(f"{base}/w/acme/share/plays/")
    expect(page.locator(".play-row")).to_contain_text("applied 1 time")
    page.screenshot(path=screenshot_dir / "plays-4-list-phone.png", full_page=True)
