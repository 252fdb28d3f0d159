from __future__ import annotations

from datetime import timedelta

from django.core import mail
from django.urls import reverse
from django.utils import timezone

from unstuck.core.errors import Conflict
from unstuck.deals.models import Deal
from unstuck.investigate import services
from unstuck.investigate.models import InvestigationRequest, StepStatus
from unstuck.investigate.selectors import deal_investigation
from unstuck.investigate.tests.helpers import InvestigateCase


class ChecklistTests(InvestigateCase):
    def test_completeness_moves_as_committee_process_and_pain_are_filled_in(self) -> None:
        deal = self.deal_a
        self.assertEqual(deal_investigation(deal).completeness, 0)
        _champion, buyer = self.committee(deal, "champion", "economic_buyer")
        self.assertEqual(deal_investigation(deal).completeness, 14)  # who is involved
        services.stakeholder_view_update(
            membership=None,
            stakeholder=buyer,
            financial_concerns="Capex freeze until Q3",
            factors=["roi"],
        )
        self.assertEqual(deal_investigation(deal).completeness, 43)
        services.decision_step_add(membership=None, deal=deal, name="Security review", owner="CISO")
        services.decision_step_add(
            membership=None, deal=deal, name="Budget approval", owner="CFO", status=StepStatus.STUCK
        )
        self.assertEqual(deal_investigation(deal).completeness, 71)
        services.pain_update(
            membership=None, deal=deal, pain="Month-end close takes 9 days", resolution=""
        )
        self.assertEqual(deal_investigation(deal).completeness, 71)  # needs the resolution too
        services.pain_update(
            membership=None,
            deal=deal,
            pain="Month-end close takes 9 days",
            resolution="Automated reconciliation",
        )
        services.feedback_add(
            membership=None, deal=deal, kind="working", text="CFO liked the ROI model"
        )
        services.feedback_add(membership=None, deal=deal, kind="not_working", text="IT ignores us")
        inv = deal_investigation(deal)
        self.assertEqual(inv.completeness, 100)
        self.assertEqual(inv.stuck_step.name if inv.stuck_step else None, "Budget approval")

    def test_marking_a_step_bogged_down_moves_the_mark(self) -> None:
        first = services.decision_step_add(
            membership=None, deal=self.deal_a, name="Legal", status=StepStatus.STUCK
        )
        second = services.decision_step_add(membership=None, deal=self.deal_a, name="Procurement")
        services.decision_step_set_status(membership=None, step=second, status=StepStatus.STUCK)
        first.refresh_from_db()
        self.assertEqual(first.status, StepStatus.IN_PROGRESS)
        stuck = deal_investigation(self.deal_a).stuck_step
        self.assertEqual(stuck.pk if stuck else None, second.pk)

    def test_the_same_decision_step_is_refused_twice(self) -> None:
        services.decision_step_add(
            membership=None, deal=self.deal_a, name="Security review", owner="CISO"
        )
        with self.assertRaises(Conflict):
            services.decision_step_add(
                membership=None, deal=self.deal_a, name="  security   REVIEW "
            )
        self.assertEqual(self.deal_a.decision_steps.count(), 1)
        # Another deal may have the same step.
        services.decision_step_add(membership=None, deal=self.deal_a2, name="Security review")

    def test_the_page_and_the_api_say_why_a_repeated_step_is_refused(self) -> None:
        services.decision_step_add(membership=None, deal=self.deal_a, name="Legal")
        self.sign_in(self.manager_a)
        url = reverse("investigate:step-add", kwargs={"slug": "acme", "pk": self.deal_a.pk})
        response = self.client.post(url, {"name": "legal", "status": "todo"}, follow=True)
        self.assertContains(response, "is already a step of this decision")
        api = self.client.post(
            f"/api/v1/workspaces/acme/investigate/deals/{self.deal_a.pk}/steps",
            {"name": "Legal"},
            content_type="application/json",
        )
        self.assertEqual(api.status_code, 409)
        self.assertEqual(self.deal_a.decision_steps.count(), 1)


class RequestTests(InvestigateCase):
    def ask_url(self, deal: Deal) -> str:
        return reverse("investigate:request-create", kwargs={"slug": "acme", "pk": deal.pk})

    def answer_url(self, item: InvestigationRequest) -> str:
        return reverse(
            "investigate:request-answer",
            kwargs={"slug": "acme", "pk": item.deal_id, "request_pk": item.pk},
        )

    def friday(self) -> str:
        return (timezone.localdate() + timedelta(days=4)).isoformat()

    def test_manager_asks_the_rep_and_an_email_goes_out(self) -> None:
        self.sign_in(self.manager_a)
        response = self.client.post(
            self.ask_url(self.deal_a),
            {"question": "Find out who signs above $250k", "due_date": self.friday()},
        )
        self.assertEqual(response.status_code, 302)
        item = InvestigationRequest.objects.get(deal=self.deal_a)
        self.assertEqual(item.assignee, self.rep_a)
        self.assertEqual(len(mail.outbox), 1)
        self.assertEqual(mail.outbox[0].to, ["rep.a@acme.test"])
        self.assertIn("who signs above $250k", mail.outbox[0].body)

    def test_reps_cannot_create_requests(self) -> None:
        self.sign_in(self.rep_a)
        response = self.client.post(
            self.ask_url(self.deal_a), {"question": "x", "due_date": self.friday()}
        )
        self.assertEqual(response.status_code, 403)

    def test_a_manager_of_another_team_gets_404(self) -> None:
        self.sign_in(self.manager_b)
        response = self.client.post(
            self.ask_url(self.deal_a), {"question": "x", "due_date": self.friday()}
        )
        self.assertEqual(response.status_code, 404)

    def test_the_rep_answers_and_the_answer_shows_on_the_deal(self) -> None:
        item = services.request_create(
            membership=self.workspace.memberships.get(user=self.manager_a),
            deal=self.deal_a,
            question="Who signs?",
            due_date=timezone.localdate(),
        )
        self.sign_in(self.rep_a)
        self.client.post(self.answer_url(item), {"answer": "The CFO, Maria Lopez"})
        item.refresh_from_db()
        self.assertIsNotNone(item.answered_at)
        page = self.client.get(reverse("deals:detail", kwargs={"slug": "acme", "pk": item.deal_id}))
        self.assertContains(page, "The CFO, Maria Lopez")

    def test_a_teammate_who_can_read_the_deal_cannot_answer(self) -> None:
        item = services.request_create(
            membership=self.workspace.memberships.get(user=self.manager_a),
            deal=self.deal_a,
            question="Who signs?",
            due_date=timezone.localdate(),
        )
        self.sign_in(self.rep_a2)
        response = self.client.post(self.answer_url(item), {"answer": "guess"})
        self.assertEqual(response.status_code, 403)
        item.refresh_from_db()
        self.assertIsNone(item.answered_at)


class InvestigationPageTests(InvestigateCase):
    def test_the_rep_logs_an_obstacle_on_their_deal(self) -> None:
        (buyer,) = self.committee(self.deal_a, "economic_buyer")
        self.sign_in(self.rep_a)
        url = reverse("investigate:obstacle-add", kwargs={"slug": "acme", "pk": self.deal_a.pk})
        self.client.post(
            url,
            {
                "kind": "budget",
                "description": "No budget this year",
                "evidence": "CFO said so on the call",
                "stakeholder": buyer.pk,
            },
        )
        obstacle = self.deal_a.obstacles.get()
        self.assertEqual(obstacle.stakeholder, buyer)

    def test_read_only_teammates_and_partners_cannot_write(self) -> None:
        url = reverse("investigate:feedback-add", kwargs={"slug": "acme", "pk": self.deal_a.pk})
        self.sign_in(self.rep_a2)
        self.assertEqual(self.client.post(url, {"kind": "working", "text": "x"}).status_code, 403)
        self.sign_in(self.partner)
        self.assertEqual(self.client.post(url, {"kind": "working", "text": "x"}).status_code, 404)
        self.assertFalse(self.deal_a.feedback.exists())

    def test_the_deal_page_shows_the_investigation_and_its_checklist(self) -> None:
        self.sign_in(self.manager_a)
        response = self.client.get(
            reverse("deals:detail", kwargs={"slug": "acme", "pk": self.deal_a.pk})
        )
        self.assertContains(response, "Investigation")
        self.assertContains(response, "The decision process")
        self.assertContains(response, "Ask ")  # the request form, for the manager
