"""When a deal counts as innovated on: a session started, or its investigation completed
(the checklist all done), dated at the last recorded edit and credited to the team's
manager."""

from __future__ import annotations

from datetime import UTC, datetime

from unstuck.cocreate.models import Session
from unstuck.core.testing import PersonasTestCase
from unstuck.deals.models import Contact, Stakeholder
from unstuck.insights.effect import first_per_deal, innovation_moments, stall_band
from unstuck.investigate.models import (
    CustomerPain,
    DecisionStep,
    FeedbackEntry,
    Obstacle,
    StakeholderView,
)

EARLY = datetime(2026, 2, 2, 10, tzinfo=UTC)
LATE = datetime(2026, 2, 20, 15, tzinfo=UTC)


class MomentTests(PersonasTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        for deal in (cls.deal_a, cls.deal_a2):
            for k, role in enumerate(["economic_buyer", "champion"]):
                contact = Contact.objects.create(workspace=cls.workspace, name=f"C{deal.pk}{k}")
                sh = Stakeholder.objects.create(
                    deal=deal, contact=contact, buying_role=role, influence=3, created_at=EARLY
                )
                StakeholderView.objects.create(
                    stakeholder=sh, financial_concerns="Payback in a year.", factors=["roi"]
                )
            for k in range(2):
                DecisionStep.objects.create(deal=deal, order=k + 1, name=f"Step {k}")
            Obstacle.objects.create(
                deal=deal, kind="budget", description="No budget", created_at=EARLY
            )
            CustomerPain.objects.create(deal=deal, pain="Slow close", resolution="Automate")
            FeedbackEntry.objects.create(deal=deal, kind="working", text="ok", created_at=EARLY)
        # deal_a's log is complete (both kinds of feedback); deal_a2's lacks "what isn't".
        FeedbackEntry.objects.create(
            deal=cls.deal_a, kind="not_working", text="pricing", created_at=LATE
        )
        StakeholderView.objects.filter(stakeholder__deal__in=[cls.deal_a, cls.deal_a2]).update(
            updated_at=EARLY
        )
        CustomerPain.objects.update(updated_at=EARLY)
        Session.objects.create(
            workspace=cls.workspace, deal=cls.deal_b, started_by=cls.manager_b,
            ideal_outcome="x", created_at=EARLY,
        )  # fmt: skip

    def test_a_completed_investigation_counts_at_its_last_edit_for_the_teams_manager(
        self,
    ) -> None:
        moments = {(m.deal_id, m.kind): m for m in innovation_moments(self.workspace)}
        inv = moments[(self.deal_a.pk, "investigation")]
        self.assertEqual((inv.at, inv.manager_id), (LATE, self.manager_a.pk))
        self.assertNotIn((self.deal_a2.pk, "investigation"), moments)
        session = moments[(self.deal_b.pk, "session")]
        self.assertEqual((session.at, session.manager_id), (EARLY, self.manager_b.pk))

    def test_a_deal_counts_once_at_its_first_moment(self) -> None:
        Session.objects.create(
            workspace=self.workspace, deal=self.deal_a, started_by=self.manager_a,
            ideal_outcome="x", created_at=EARLY,
        )  # fmt: skip
        first = {m.deal_id: m for m in first_per_deal(innovation_moments(self.workspace))}
        self.assertEqual((first[self.deal_a.pk].kind, first[self.deal_a.pk].at), ("session", EARLY))

    def test_stall_bands(self) -> None:
        self.assertEqual([stall_band(s) for s in (0, 39, 40, 59, 60, 79, 80, 100)],
                         [0, 0, 1, 1, 2, 2, 3, 3])  # fmt: skip
