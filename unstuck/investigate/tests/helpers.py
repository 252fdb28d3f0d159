"""Builders for Investigate tests: a won-deal history that sets the benchmarks, and deals
with stage history rows written the way importers and the demo write them."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from unstuck.core.testing import PersonasTestCase
from unstuck.deals.models import Activity, Contact, Deal, Stage, StageChange, Stakeholder

NOW = timezone.now()


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


class InvestigateCase(PersonasTestCase):
    """Personas plus twelve won deals that each spent 10 days in every open stage."""

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        open_stages = cls.stages[:4]
        for i in range(12):
            start = ago(200 + i)
            deal = cls.make_deal(owner=cls.rep_b, created_at=start, name=f"Won {i}")
            when = start
            for stage in [*open_stages[1:], cls.stages[4]]:
                when += timedelta(days=10)
                cls.move(deal, stage, when)
            Deal.objects.filter(pk=deal.pk).update(
                status="won", stage=cls.stages[4], closed_at=when
            )
            for k in range(8):  # an activity every five days
                Activity.objects.create(
                    deal=deal, kind="call", occurred_at=start + timedelta(days=5 * k)
                )

    @classmethod
    def move(
        cls,
        deal: Deal,
        stage: Stage,
        when: datetime,
        *,
        amount: Decimal | None = None,
        close_date: date | None = None,
    ) -> StageChange:
        last = StageChange.objects.filter(deal=deal).order_by("-changed_at", "-pk").first()
        return StageChange.objects.create(
            deal=deal,
            from_stage=last.to_stage if last else None,
            to_stage=stage,
            changed_at=when,
            amount=amount if amount is not None else (last.amount if last else deal.amount),
            close_date=close_date
            if close_date is not None
            else (last.close_date if last else None),
        )

    @classmethod
    def committee(cls, deal: Deal, *roles: str) -> list[Stakeholder]:
        out = []
        for n, role in enumerate(roles):
            contact = Contact.objects.create(workspace=cls.workspace, name=f"{role} {deal.pk}-{n}")
            out.append(
                Stakeholder.objects.create(
                    deal=deal, contact=contact, buying_role=role, created_at=deal.created_at
                )
            )
        return out

    @classmethod
    def touch(cls, deal: Deal, days_ago: float, **extra: Any) -> Activity:
        activity = Activity.objects.create(
            deal=deal, kind="email", occurred_at=ago(days_ago), **extra
        )
        Deal.objects.filter(pk=deal.pk).update(last_activity_at=activity.occurred_at)
        return activity
