"""Personas plus a few plays, a decided session and the helpers the playbook tests share."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from unstuck.cocreate.models import Option, Phase, Session
from unstuck.core.models import Membership, User
from unstuck.core.testing import PersonasTestCase
from unstuck.deals.models import Deal, Stage, StageChange
from unstuck.investigate.models import Obstacle
from unstuck.share.models import Play, PlayStatus


def membership(user: User) -> Membership:
    return Membership.objects.select_related("workspace", "user").get(user=user)


def move(deal: Deal, stage: Stage, at: datetime) -> None:
    """A stage move in the deal's history (and the deal now in that stage)."""
    StageChange.objects.create(
        deal=deal, from_stage=deal.stage, to_stage=stage, changed_at=at, amount=deal.amount
    )
    deal.stage = stage
    deal.status = stage.kind
    deal.stage_entered_at = at
    if stage.kind != "open":
        deal.closed_at = at
    deal.save()


class PlaysTestCase(PersonasTestCase):
    budget_play: Play
    draft_play: Play
    session_a: Session
    chosen: Option

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        now = timezone.now()
        cls.budget_play = cls.make_play(
            title="Phase the rollout to fit the budget",
            obstacle_kinds=["budget"],
            stages=["Qualification"],
            what_to_do="Offer a paid pilot for one region now, the rest next fiscal year.",
            status=PlayStatus.VERIFIED,
            verified_at=now - timedelta(days=10),
        )
        cls.draft_play = cls.make_play(
            title="Bring legal in early",
            obstacle_kinds=["legal"],
            what_to_do="Send our standard DPA before the proposal.",
        )
        Obstacle.objects.create(deal=cls.deal_a, kind="budget", description="Budget is frozen")
        cls.session_a = Session.objects.create(
            workspace=cls.workspace,
            deal=cls.deal_a,
            ideal_outcome="Roll out to every region by Q3",
            started_by=cls.manager_a,
            phase=Phase.DECIDED,
            decided_by=cls.manager_a,
            decided_at=now - timedelta(days=5),
            rationale="Their budget opens in January; a pilot keeps momentum.",
        )
        cls.session_a.obstacles.set(Obstacle.objects.filter(deal=cls.deal_a))
        cls.chosen = Option.objects.create(
            session=cls.session_a,
            title="Regional pilot",
            description="Pilot in the Nordics, full rollout next year",
            author=cls.manager_a,
            is_chosen=True,
        )

    @classmethod
    def make_play(cls, **fields: Any) -> Play:
        values: dict[str, Any] = {
            "workspace": cls.workspace,
            "owner": cls.manager_a,
            "verifier": cls.manager_a,
            "what_to_do": "Do it.",
        }
        values.update(fields)
        return Play.objects.create(**values)
