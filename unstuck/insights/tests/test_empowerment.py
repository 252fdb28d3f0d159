"""Empowerment: the managers' pulse pooled with a minimum group so no answer can be read,
and the share of decisions taken within the guardrails."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from unstuck.cocreate.models import ApprovalRequest, ApprovalStatus, Option, Phase, Session
from unstuck.core.errors import NotAllowed, UnstuckError
from unstuck.core.models import Membership, Role, User
from unstuck.core.testing import PersonasTestCase
from unstuck.insights.models import PulseAnswer
from unstuck.insights.selectors import empowerment, pulse_summary
from unstuck.insights.services import PULSE_MIN_GROUP, pulse_answer

TODAY = date(2026, 3, 18)
ANSWERS = {"empowered": 2, "time_for_innovation": 3, "decide_without_approval": 4}


class PulseTests(PersonasTestCase):
    def answer(self, user: User, **overrides: int) -> PulseAnswer:
        membership = Membership.objects.get(user=user, workspace=self.workspace)
        return pulse_answer(membership=membership, answers={**ANSWERS, **overrides}, today=TODAY)

    def test_a_month_with_fewer_than_the_minimum_shows_no_figure(self) -> None:
        self.answer(self.manager_a, empowered=1)
        self.answer(self.manager_b, empowered=5)
        month = pulse_summary(self.workspace, TODAY)[-1]
        self.assertEqual((month["month"], month["answered"]), ("2026-03", 2))
        self.assertIsNone(month["questions"])

    def test_a_month_with_enough_answers_shows_only_pooled_figures(self) -> None:
        third = self.member("manager.c@acme.test", Role.MANAGER)
        self.assertEqual(PULSE_MIN_GROUP, 3)
        self.answer(self.manager_a, empowered=1)
        self.answer(self.manager_b, empowered=5)
        self.answer(third, empowered=4)
        month = pulse_summary(self.workspace, TODAY)[-1]
        self.assertEqual(month["answered"], 3)
        self.assertEqual(month["questions"]["empowered"], {"mean": 3.33, "agree_share": 0.667})
        self.sign_in(self.leader)
        data = self.client.get("/api/v1/workspaces/acme/insights/effectiveness").json()
        self.assertNotIn("manager.a@acme.test", json_text(data["pulse"]))

    def test_answering_again_replaces_the_month_and_bad_answers_change_nothing(self) -> None:
        self.answer(self.manager_a, empowered=1)
        self.answer(self.manager_a, empowered=4)
        self.assertEqual(PulseAnswer.objects.get().empowered, 4)
        with self.assertRaises(UnstuckError):
            self.answer(self.manager_a, empowered=6)
        self.assertEqual(PulseAnswer.objects.get().empowered, 4)

    def test_only_managers_answer(self) -> None:
        for user in (self.rep_a, self.leader):
            with self.assertRaises(NotAllowed):
                self.answer(user)

    def test_the_page_form_saves_a_pulse(self) -> None:
        self.sign_in(self.manager_a)
        response = self.client.post(
            "/w/acme/insights/pulse/",
            {"empowered": "4", "time_for_innovation": "2", "decide_without_approval": "3"},
        )
        self.assertEqual(response.status_code, 302)
        self.assertEqual(PulseAnswer.objects.get(user=self.manager_a).time_for_innovation, 2)


def json_text(value: object) -> str:
    import json

    return json.dumps(value)


class GuardrailTests(PersonasTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        now = timezone.now()
        for k in range(4):
            session = Session.objects.create(
                workspace=cls.workspace, deal=cls.deal_a, started_by=cls.manager_a,
                ideal_outcome="x", phase=Phase.DECIDED, decided_by=cls.manager_a,
                decided_at=now,
            )  # fmt: skip
            option = Option.objects.create(
                session=session, title="o", author=cls.manager_a, is_chosen=True,
                discount_pct=Decimal("30") if k == 0 else None,
            )  # fmt: skip
            if k < 2:
                ApprovalRequest.objects.create(
                    option=option, workspace=cls.workspace, requested_by=cls.manager_a,
                    status=ApprovalStatus.APPROVED if k == 0 else ApprovalStatus.DECLINED,
                    decided_by=cls.leader, decided_at=now,
                    created_at=now - timedelta(hours=6 if k == 0 else 2),
                )  # fmt: skip

    def test_decisions_within_guardrails_approval_time_and_decline_rate(self) -> None:
        e = empowerment(self.workspace)
        self.assertEqual(e["decisions"], 4)
        self.assertEqual(e["needed_approval"], 1)  # the chosen option approved beyond them
        self.assertEqual(e["within_guardrails"], 3)
        self.assertEqual(e["approvals_answered"], 2)
        self.assertEqual(e["approval_hours_median"], 4.0)
        self.assertEqual(e["decline_rate"], 0.5)
