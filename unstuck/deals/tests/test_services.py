from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from unstuck.core.errors import Conflict, UnstuckError
from unstuck.core.testing import PersonasTestCase, make_pipeline
from unstuck.deals import services
from unstuck.deals.models import Contact, StageChange, StageKind


class StageMoveTests(PersonasTestCase):
    def test_a_move_records_history_with_the_amount_and_close_date_then(self) -> None:
        deal = self.make_deal(owner=self.rep_a)
        change = services.deal_move_to_stage(
            deal=deal,
            stage=self.stages[2],
            by=self.membership_of(self.rep_a),
            amount=Decimal("42000"),
            close_date=date(2027, 3, 1),
        )
        deal.refresh_from_db()
        self.assertEqual(deal.stage, self.stages[2])
        self.assertEqual(deal.stage_entered_at, change.changed_at)
        history = list(StageChange.objects.filter(deal=deal).order_by("changed_at"))
        self.assertEqual(len(history), 2)
        self.assertEqual(history[-1].from_stage, self.stages[0])
        self.assertEqual(history[-1].to_stage, self.stages[2])
        self.assertEqual(history[-1].amount, Decimal("42000"))
        self.assertEqual(history[-1].close_date, date(2027, 3, 1))
        self.assertEqual(history[-1].changed_by, self.rep_a)

    def test_winning_closes_the_deal_and_reopening_clears_closed_at(self) -> None:
        deal = self.make_deal(owner=self.rep_a)
        services.deal_move_to_stage(deal=deal, stage=self.stages[4], by=None)
        deal.refresh_from_db()
        self.assertEqual(deal.status, StageKind.WON)
        self.assertIsNotNone(deal.closed_at)
        services.deal_move_to_stage(deal=deal, stage=self.stages[3], by=None)
        deal.refresh_from_db()
        self.assertEqual(deal.status, StageKind.OPEN)
        self.assertIsNone(deal.closed_at)

    def test_it_refuses_a_stage_of_another_pipeline_and_writes_nothing(self) -> None:
        deal = self.make_deal(owner=self.rep_a)
        _, foreign = make_pipeline(self.workspace.__class__.objects.create(name="X", slug="x"))
        with self.assertRaisesMessage(UnstuckError, "is not a stage of"):
            services.deal_move_to_stage(deal=deal, stage=foreign[1], by=None)
        self.assertEqual(StageChange.objects.filter(deal=deal).count(), 1)

    def test_it_refuses_a_move_to_the_current_stage(self) -> None:
        deal = self.make_deal(owner=self.rep_a)
        with self.assertRaises(Conflict):
            services.deal_move_to_stage(deal=deal, stage=self.stages[0], by=None)

    def test_it_refuses_a_move_dated_before_the_current_stage_began(self) -> None:
        deal = self.make_deal(owner=self.rep_a)
        with self.assertRaisesMessage(UnstuckError, "cannot be dated before"):
            services.deal_move_to_stage(
                deal=deal,
                stage=self.stages[1],
                by=None,
                at=timezone.now() - timedelta(days=90),
            )


class StakeholderTests(PersonasTestCase):
    def test_adding_a_stakeholder_creates_the_contact_on_the_deals_account(self) -> None:
        s = services.stakeholder_add(
            membership=None,
            deal=self.deal_a,
            name="Ana Ruiz",
            title="CFO",
            buying_role="economic_buyer",
            influence=3,
            stance="skeptic",
        )
        self.assertEqual(s.contact.account, self.deal_a.account)
        self.assertEqual(s.contact.workspace, self.workspace)
        self.assertEqual(s.get_buying_role_display(), "Economic buyer")

    def test_the_same_contact_cannot_sit_twice_on_one_committee(self) -> None:
        s = services.stakeholder_add(
            membership=None, deal=self.deal_a, name="Ana", buying_role="champion"
        )
        with self.assertRaises(Conflict):
            services.stakeholder_add(
                membership=None, deal=self.deal_a, contact=s.contact, buying_role="user"
            )

    def test_an_unknown_buying_role_is_refused_with_its_field(self) -> None:
        with self.assertRaises(UnstuckError) as caught:
            services.stakeholder_add(
                membership=None, deal=self.deal_a, name="Ana", buying_role="wizard"
            )
        self.assertIn("buying_role", caught.exception.message)
        self.assertFalse(Contact.objects.filter(name="Ana").exists())

    def test_update_changes_role_stance_and_contact_details(self) -> None:
        s = services.stakeholder_add(
            membership=None, deal=self.deal_a, name="Ana", buying_role="champion"
        )
        services.stakeholder_update(
            membership=None, stakeholder=s, stance="opponent", title="COO", influence=3
        )
        s.refresh_from_db()
        self.assertEqual((s.stance, s.influence, s.contact.title), ("opponent", 3, "COO"))

    def test_logging_an_activity_moves_last_activity_forward_only(self) -> None:
        now = timezone.now()
        services.activity_log(
            deal=self.deal_a, kind="call", summary="Hi", by=self.rep_a, occurred_at=now
        )
        services.activity_log(
            deal=self.deal_a,
            kind="email",
            summary="Old",
            by=self.rep_a,
            occurred_at=now - timedelta(days=5),
        )
        self.deal_a.refresh_from_db()
        self.assertEqual(self.deal_a.last_activity_at, now)
