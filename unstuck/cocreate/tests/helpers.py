"""Personas plus a stuck deal with an investigation, and a quick way to fill a session."""

from __future__ import annotations

from decimal import Decimal

from unstuck.cocreate import services
from unstuck.cocreate.models import Option, Session
from unstuck.core.models import Membership, User
from unstuck.core.testing import PersonasTestCase
from unstuck.deals.models import BuyingRole, Contact, Stakeholder
from unstuck.investigate.models import CustomerPain, Obstacle, StakeholderView


class CocreateTestCase(PersonasTestCase):
    """deal_a (rep_a, manager_a's team) is stuck in Negotiation on budget and a competitor."""

    budget: Obstacle
    competitor: Obstacle

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        deal = cls.deal_a
        deal.stage = cls.stages[3]
        deal.amount = Decimal("120000")
        deal.save()
        cls.budget = Obstacle.objects.create(
            deal=deal, kind="budget", description="No budget left this year"
        )
        cls.competitor = Obstacle.objects.create(
            deal=deal, kind="competitor", description="Incumbent offered 30% off"
        )
        contact = Contact.objects.create(workspace=cls.workspace, name="Ana Ruiz", title="CFO")
        cfo = Stakeholder.objects.create(
            deal=deal, contact=contact, buying_role=BuyingRole.ECONOMIC_BUYER, influence=3
        )
        StakeholderView.objects.create(
            stakeholder=cfo,
            financial_concerns="Needs payback inside 12 months.",
            factors=["roi", "price"],
        )
        CustomerPain.objects.create(
            deal=deal,
            pain="Month-end close takes nine days.",
            resolution="Close the books in four days.",
        )

    @classmethod
    def m(cls, user: User) -> Membership:
        return Membership.objects.select_related("workspace", "user").get(
            workspace=cls.workspace, user=user
        )

    def start(self) -> Session:
        return services.session_start(
            membership=self.m(self.manager_a),
            deal=self.deal_a,
            ideal_outcome="Close the books in four days.",
            obstacles=[self.budget, self.competitor],
        )

    def fill(self, session: Session, n: int = 8, who: User | None = None) -> list[Option]:
        member = self.m(who or self.manager_a)
        return [
            services.session_add_option(
                membership=member, session=session, title=f"Option number {k + 1}"
            )
            for k in range(n)
        ]

    def converge(self, session: Session) -> Session:
        self.fill(session, 8)
        return services.session_converge(membership=self.m(self.manager_a), session=session)

    def answer_checklist(self, session: Session) -> None:
        services.session_checklist(
            membership=self.m(self.manager_a),
            session=session,
            alternatives_considered="A discount; waiting a year.",
            dissent_explored="The rep preferred the pilot; we kept it as plan B.",
            premortem="The CFO never saw the business case.",
        )
