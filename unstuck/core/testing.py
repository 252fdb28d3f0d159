"""Named personas and small factories for tests: a leader, two managers with their reps, a
partner and an outsider from another workspace. No opaque fixtures."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.test import TestCase
from django.utils import timezone

from unstuck.core.models import Membership, Role, Team, User, Workspace
from unstuck.core.services import workspace_create
from unstuck.deals.models import Account, Deal, Pipeline, Stage, StageChange, StageKind

PASSWORD = "correct-horse-battery"
_ids = itertools.count(1)


def make_user(email: str, name: str = "") -> User:
    return User.objects.create_user(email, PASSWORD, name=name or email.split("@")[0].title())


def make_pipeline(workspace: Workspace) -> tuple[Pipeline, list[Stage]]:
    pipeline = Pipeline.objects.create(workspace=workspace, name="New business", is_default=True)
    spec = [
        ("Qualification", StageKind.OPEN, 10),
        ("Discovery", StageKind.OPEN, 20),
        ("Proposal", StageKind.OPEN, 50),
        ("Negotiation", StageKind.OPEN, 75),
        ("Closed won", StageKind.WON, 100),
        ("Closed lost", StageKind.LOST, 0),
    ]
    stages = [
        Stage.objects.create(pipeline=pipeline, name=n, order=i, kind=k, probability=p)
        for i, (n, k, p) in enumerate(spec)
    ]
    return pipeline, stages


class PersonasTestCase(TestCase):
    """A workspace 'acme' with two teams, and an outsider workspace 'globex'.

    leader; manager_a (team A: rep_a, rep_a2); manager_b (team B: rep_b); partner;
    outsider (leader of globex). Deals: deal_a (rep_a), deal_a2 (rep_a2), deal_b (rep_b),
    partner invited to deal_b only.
    """

    workspace: Workspace
    team_a: Team
    team_b: Team
    leader: User
    manager_a: User
    manager_b: User
    rep_a: User
    rep_a2: User
    rep_b: User
    partner: User
    outsider: User
    pipeline: Pipeline
    stages: list[Stage]
    deal_a: Deal
    deal_a2: Deal
    deal_b: Deal
    other_deal: Deal

    @classmethod
    def setUpTestData(cls) -> None:
        cls.workspace = workspace_create(name="Acme", slug="acme")
        cls.pipeline, cls.stages = make_pipeline(cls.workspace)
        cls.leader = cls.member("leader@acme.test", Role.LEADER)
        cls.manager_a = cls.member("manager.a@acme.test", Role.MANAGER)
        cls.manager_b = cls.member("manager.b@acme.test", Role.MANAGER)
        cls.team_a = Team.objects.create(workspace=cls.workspace, name="A", manager=cls.manager_a)
        cls.team_b = Team.objects.create(workspace=cls.workspace, name="B", manager=cls.manager_b)
        cls.rep_a = cls.member("rep.a@acme.test", Role.REP, cls.team_a)
        cls.rep_a2 = cls.member("rep.a2@acme.test", Role.REP, cls.team_a)
        cls.rep_b = cls.member("rep.b@acme.test", Role.REP, cls.team_b)
        cls.partner = cls.member("partner@acme.test", Role.PARTNER)
        cls.deal_a = cls.make_deal(owner=cls.rep_a, name="Alpha expansion")
        cls.deal_a2 = cls.make_deal(owner=cls.rep_a2, name="Alpha two")
        cls.deal_b = cls.make_deal(owner=cls.rep_b, name="Bravo renewal")
        from unstuck.deals.models import DealPartner

        DealPartner.objects.create(deal=cls.deal_b, user=cls.partner)
        other = workspace_create(name="Globex", slug="globex")
        cls.outsider = make_user("outsider@globex.test")
        Membership.objects.create(workspace=other, user=cls.outsider, role=Role.LEADER)
        other_pipeline, other_stages = make_pipeline(other)
        cls.other_deal = Deal.objects.create(
            workspace=other,
            name="Globex secret",
            pipeline=other_pipeline,
            stage=other_stages[0],
            owner=cls.outsider,
            external_id="G-1",
        )

    @classmethod
    def member(cls, email: str, role: str, team: Team | None = None) -> User:
        user = make_user(email)
        Membership.objects.create(workspace=cls.workspace, user=user, role=role, team=team)
        return user

    @classmethod
    def membership_of(cls, user: User) -> Membership:
        return Membership.objects.select_related("workspace").get(
            workspace=cls.workspace, user=user
        )

    @classmethod
    def make_deal(cls, **overrides: Any) -> Deal:
        """A deal in the first stage, created 30 days ago, with its opening history row."""
        owner: User | None = overrides.pop("owner", None)
        team = overrides.pop("team", None)
        if team is None and owner is not None:
            membership = Membership.objects.filter(user=owner, workspace=cls.workspace).first()
            team = membership.team if membership else None
        stage: Stage = overrides.pop("stage", cls.stages[0])
        created = overrides.pop("created_at", timezone.now() - timedelta(days=30))
        n = next(_ids)
        fields: dict[str, Any] = {
            "workspace": cls.workspace,
            "name": f"Deal {n}",
            "account": Account.objects.create(workspace=cls.workspace, name=f"Account {n}"),
            "pipeline": cls.pipeline,
            "stage": stage,
            "status": stage.kind,
            "amount": Decimal("50000"),
            "created_at": created,
            "stage_entered_at": created,
            "external_id": f"T-{n}",
            "owner": owner,
            "team": team,
        }
        fields.update(overrides)
        deal = Deal.objects.create(**fields)
        StageChange.objects.create(
            deal=deal,
            to_stage=stage,
            changed_at=created,
            amount=deal.amount,
            close_date=deal.close_date,
        )
        return deal

    def sign_in(self, user: User) -> None:
        self.client.force_login(user)
