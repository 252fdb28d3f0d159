"""The investigation's services check who may act themselves (not only their callers), and
the forms that show a whole text (pain, a stakeholder's view) refuse a save over a newer one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.urls import reverse

from unstuck.core.errors import Conflict, NotAllowed
from unstuck.core.models import Membership
from unstuck.core.services import row_version
from unstuck.deals.models import Deal
from unstuck.investigate import services
from unstuck.investigate.models import (
    CustomerPain,
    DecisionStep,
    FeedbackEntry,
    Obstacle,
    StakeholderView,
)
from unstuck.investigate.tests.helpers import InvestigateCase


class ServicesRefuseTheWrongRoleTests(InvestigateCase):
    """Each write called directly as someone who may read the deal but not change it (the
    invited partner, a rep of another team) or who cannot see it (a rep of another team):
    refused, nothing stored. The deal's own rep may (so the check is not a blanket no)."""

    def writes(self, m: Membership, deal: Deal) -> dict[str, Callable[[], Any]]:
        stakeholder = self.committee(deal, "champion")[0]
        step = DecisionStep.objects.create(deal=deal, order=1, name="Legal")
        obstacle = Obstacle.objects.create(deal=deal, kind="budget", description="Frozen")
        return {
            "stakeholder_view_update": lambda: services.stakeholder_view_update(
                membership=m, stakeholder=stakeholder, financial_concerns="Capex", factors=[]
            ),
            "decision_step_add": lambda: services.decision_step_add(
                membership=m, deal=deal, name="Security review"
            ),
            "decision_step_set_status": lambda: services.decision_step_set_status(
                membership=m, step=step, status="stuck"
            ),
            "obstacle_add": lambda: services.obstacle_add(
                membership=m, deal=deal, kind="budget", description="No budget"
            ),
            "obstacle_set_status": lambda: services.obstacle_set_status(
                membership=m, obstacle=obstacle, status="resolved"
            ),
            "pain_update": lambda: services.pain_update(
                membership=m, deal=deal, pain="Close takes 9 days", resolution="Automate"
            ),
            "feedback_add": lambda: services.feedback_add(
                membership=m, deal=deal, kind="working", text="CFO liked it"
            ),
        }

    def stored(self, deal: Deal) -> tuple[int, ...]:
        return (
            StakeholderView.objects.filter(stakeholder__deal=deal).count(),
            deal.decision_steps.count(),
            deal.decision_steps.filter(status="stuck").count(),
            deal.obstacles.count(),
            deal.obstacles.filter(status="resolved").count(),
            CustomerPain.objects.filter(deal=deal).count(),
            FeedbackEntry.objects.filter(deal=deal).count(),
        )

    def test_a_partner_and_a_rep_of_another_team_are_refused_by_every_write(self) -> None:
        deal = self.deal_b  # the partner is invited to read it; rep_a is in the other team
        for user in (self.partner, self.rep_a):
            writes = self.writes(self.membership_of(user), deal)
            before = self.stored(deal)
            for name, write in writes.items():
                with self.subTest(user=user.email, service=name), self.assertRaises(NotAllowed):
                    write()
            self.assertEqual(self.stored(deal), before)

    def test_the_deals_rep_may_do_each_of_them(self) -> None:
        deal = self.deal_b
        for name, write in self.writes(self.membership_of(self.rep_b), deal).items():
            with self.subTest(service=name):
                write()
        self.assertEqual(self.stored(deal), (1, 2, 1, 2, 1, 1, 1))
        obstacle = deal.obstacles.get(description="No budget")
        self.assertEqual(obstacle.created_by, self.rep_b)
        self.assertEqual(FeedbackEntry.objects.get(deal=deal).author, self.rep_b)


class WholeTextFormsRefuseAStaleSaveTests(InvestigateCase):
    """Two people open the deal page; both edit the pain (or a stakeholder's view). The second
    save would erase the first: it is refused with what is stored now, and the first stays."""

    def test_pain_saved_over_a_newer_save_is_a_conflict_naming_theirs(self) -> None:
        rep = self.membership_of(self.rep_a)
        shown = row_version(None)  # both opened the page before any pain was written
        services.pain_update(
            membership=rep,
            deal=self.deal_a,
            pain="Close takes 9 days",
            resolution="",
            version=shown,
        )
        with self.assertRaises(Conflict) as refused:
            services.pain_update(
                membership=self.membership_of(self.manager_a),
                deal=self.deal_a,
                pain="Reporting is manual",
                resolution="Dashboards",
                version=shown,
            )
        self.assertIn("Close takes 9 days", refused.exception.message)
        record = CustomerPain.objects.get(deal=self.deal_a)
        self.assertEqual(record.pain, "Close takes 9 days")
        # From the version they now see, the save goes through.
        services.pain_update(
            membership=rep,
            deal=self.deal_a,
            pain="Close takes 9 days; reporting is manual",
            resolution="Automate",
            version=row_version(record),
        )
        self.assertEqual(CustomerPain.objects.get(deal=self.deal_a).resolution, "Automate")

    def test_a_stakeholders_view_saved_over_a_newer_save_is_a_conflict(self) -> None:
        buyer = self.committee(self.deal_a, "economic_buyer")[0]
        rep = self.membership_of(self.rep_a)
        first = services.stakeholder_view_update(
            membership=rep, stakeholder=buyer, financial_concerns="Capex freeze", factors=["roi"]
        )
        shown = row_version(first)
        services.stakeholder_view_update(
            membership=rep,
            stakeholder=buyer,
            financial_concerns="Capex freeze until Q3",
            factors=["roi"],
            version=shown,
        )
        with self.assertRaises(Conflict) as refused:
            services.stakeholder_view_update(
                membership=self.membership_of(self.manager_a),
                stakeholder=buyer,
                financial_concerns="Wants payment terms",
                factors=[],
                version=shown,
            )
        self.assertIn("Capex freeze until Q3", refused.exception.message)
        view = StakeholderView.objects.get(stakeholder=buyer)
        self.assertEqual(
            (view.financial_concerns, view.factors), ("Capex freeze until Q3", ["roi"])
        )

    def test_the_deal_page_form_carries_the_version_and_a_stale_post_keeps_theirs(self) -> None:
        self.sign_in(self.rep_a)
        page = self.client.get(
            reverse("deals:detail", kwargs={"slug": "acme", "pk": self.deal_a.pk})
        )
        self.assertContains(page, 'name="version" value="new"')
        url = reverse("investigate:pain", kwargs={"slug": "acme", "pk": self.deal_a.pk})
        self.client.post(url, {"pain": "Close takes 9 days", "resolution": "", "version": "new"})
        response = self.client.post(
            url, {"pain": "Mine", "resolution": "Mine too", "version": "new"}, follow=True
        )
        self.assertContains(response, "yours was not saved")
        self.assertContains(response, "Close takes 9 days")
        self.assertEqual(CustomerPain.objects.get(deal=self.deal_a).pain, "Close takes 9 days")

    def test_the_api_answers_409_for_a_stale_version(self) -> None:
        self.sign_in(self.rep_a)
        url = f"/api/v1/workspaces/acme/investigate/deals/{self.deal_a.pk}/pain"
        first = self.client.put(
            url, {"pain": "Close", "resolution": "Automate"}, content_type="application/json"
        )
        self.assertEqual(first.status_code, 200)
        version = first.json()["version"]
        again = self.client.put(
            url,
            {"pain": "Close, still", "resolution": "Automate", "version": version},
            content_type="application/json",
        )
        self.assertEqual(again.status_code, 200)
        stale = self.client.put(
            url,
            {"pain": "Other", "resolution": "Other", "version": version},
            content_type="application/json",
        )
        self.assertEqual(stale.status_code, 409)
        self.assertEqual(CustomerPain.objects.get(deal=self.deal_a).pain, "Close, still")
