from __future__ import annotations

from datetime import UTC, date

from django.contrib.auth import authenticate
from django.db.models import Count, Max, Sum
from django.test import TestCase

from unstuck.core.models import Membership, Role, Workspace
from unstuck.deals.models import Activity, Deal, StageChange, StageKind
from unstuck.demo.generator import DemoResult, generate_demo

TODAY = date(2026, 11, 2)


class DemoGeneratorTests(TestCase):
    result: DemoResult
    ws: Workspace

    @classmethod
    def setUpTestData(cls) -> None:
        cls.result = generate_demo(deals=400, seed=11, today=TODAY)
        cls.ws = cls.result.workspace

    def test_it_has_the_people_and_logins_the_readme_promises(self) -> None:
        roles = dict(
            Membership.objects.filter(workspace=self.ws)
            .values_list("role")
            .annotate(n=Count("id"))
            .values_list("role", "n")
        )
        # The partner, and legal and product on the bench (share).
        self.assertEqual(roles, {Role.LEADER: 1, Role.MANAGER: 2, Role.REP: 8, Role.PARTNER: 3})
        for email in ["leader", "manager", "rep", "partner"]:
            user = authenticate(username=f"{email}@demo.example", password="demo")
            self.assertIsNotNone(user, email)
        self.assertEqual(self.ws.slug, "demo")

    def test_it_mixes_won_lost_and_open_deals_with_varied_stalls(self) -> None:
        statuses = dict(Deal.objects.values_list("status").annotate(n=Count("id")))
        self.assertEqual(sum(statuses.values()), 400)
        for status in StageKind.values:
            self.assertGreater(statuses[status], 40, status)
        for pattern in ["stuck_in_stage", "gone_quiet", "slipping", "went_back", "healthy"]:
            self.assertGreater(self.result.counts.get(pattern, 0), 0, pattern)

    def test_each_deal_agrees_with_its_history(self) -> None:
        last = {
            row["deal"]: row["at"]
            for row in StageChange.objects.values("deal").annotate(at=Max("changed_at"))
        }
        for deal in Deal.objects.select_related("stage"):
            self.assertEqual(deal.status, deal.stage.kind)
            final = StageChange.objects.filter(deal=deal, changed_at=last[deal.pk]).latest("pk")
            self.assertEqual(final.to_stage_id, deal.stage_id)
            self.assertGreaterEqual(deal.stage_entered_at, deal.created_at)
            self.assertEqual(deal.closed_at is not None, deal.status != StageKind.OPEN)

    def test_each_deals_last_activity_is_its_latest_activity(self) -> None:
        # The deal page's "last activity" card and the score's days of silence read the two.
        latest = dict(
            Activity.objects.values("deal")
            .annotate(at=Max("occurred_at"))
            .values_list("deal", "at")
        )
        self.assertGreater(len(latest), 100)
        for deal_id, at in Deal.objects.values_list("pk", "last_activity_at"):
            if deal_id in latest:
                self.assertEqual(at, latest[deal_id], deal_id)

    def test_the_same_seed_gives_the_same_workspace(self) -> None:
        again = generate_demo(deals=400, seed=11, today=TODAY, slug="demo-2")

        def fingerprint(ws: Workspace) -> tuple[object, ...]:
            deals = Deal.objects.filter(workspace=ws)
            return (
                deals.aggregate(Sum("amount"))["amount__sum"],
                tuple(deals.order_by("external_id").values_list("stage__name", flat=True)),
                StageChange.objects.filter(deal__workspace=ws).count(),
            )

        self.assertEqual(fingerprint(self.ws), fingerprint(again.workspace))

    def test_partner_is_invited_to_a_few_open_deals_only(self) -> None:
        invited = Deal.objects.filter(partner_invites__user__email="partner@demo.example")
        self.assertTrue(0 < invited.count() <= 8)
        self.assertFalse(invited.exclude(status=StageKind.OPEN).exists())

    def test_reps_answer_most_requests_so_only_a_few_are_overdue(self) -> None:
        from datetime import datetime, time

        from unstuck.investigate.models import InvestigationRequest

        asked = InvestigationRequest.objects.filter(deal__workspace=self.ws)
        self.assertGreater(asked.count(), 20)
        answered = asked.filter(answered_at__isnull=False)
        self.assertGreater(answered.count(), asked.count() // 2)
        end_of_today = datetime.combine(TODAY, time.max, tzinfo=UTC)
        for request in answered:
            assert request.answered_at is not None
            self.assertTrue(request.answer)
            self.assertGreater(request.answered_at, request.created_at)
            self.assertLessEqual(request.answered_at, end_of_today)
        overdue = asked.filter(
            answered_at__isnull=True, due_date__lt=TODAY, deal__status=StageKind.OPEN
        )
        per_manager = dict(overdue.values_list("asked_by").annotate(n=Count("id")))
        self.assertLessEqual(max(per_manager.values(), default=0), 8, per_manager)
