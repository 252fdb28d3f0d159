"""A rep's inbox: the request email links to the site with an absolute URL, the "My requests"
page lists what is asked of them (and only that), and the navigation counts the open ones in
one query."""

from __future__ import annotations

import re
from datetime import timedelta

from django.core import mail
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from unstuck.core.checks import site_url_is_set
from unstuck.core.http import absolute_url
from unstuck.core.models import Membership
from unstuck.investigate import services
from unstuck.investigate.models import InvestigationRequest
from unstuck.investigate.tests.helpers import InvestigateCase


class RequestEmailTests(InvestigateCase):
    @override_settings(SITE_URL="https://unstuck.example.com")
    def test_the_request_email_links_absolutely_to_the_deal_and_the_inbox(self) -> None:
        services.request_create(
            membership=Membership.objects.get(user=self.manager_a, workspace=self.workspace),
            deal=self.deal_a,
            question="Who signs above $250k?",
            due_date=timezone.localdate() + timedelta(days=3),
        )
        body = str(mail.outbox[0].body)
        links = re.findall(r"\S+://\S+", body)
        self.assertEqual(
            links,
            [
                f"https://unstuck.example.com/w/acme/deals/{self.deal_a.pk}/#investigation",
                "https://unstuck.example.com/w/acme/investigate/requests/",
            ],
        )
        self.assertNotRegex(body, r"(?m)(^|\s)/w/")

    def test_check_deploy_warns_while_the_site_url_is_the_demos(self) -> None:
        with override_settings(SITE_URL="http://127.0.0.1:8000"):
            self.assertEqual([w.id for w in site_url_is_set(None)], ["unstuck.W001"])
        with override_settings(SITE_URL="https://unstuck.example.com"):
            self.assertEqual(site_url_is_set(None), [])

    def test_absolute_url_refuses_what_is_not_a_path(self) -> None:
        with self.assertRaises(ValueError):
            absolute_url("w/acme/")


class MyRequestsTests(InvestigateCase):
    def ask(self, deal: object, question: str, days: int = 3) -> InvestigationRequest:
        return services.request_create(
            membership=Membership.objects.get(user=self.manager_a, workspace=self.workspace),
            deal=deal,  # type: ignore[arg-type]
            question=question,
            due_date=timezone.localdate() + timedelta(days=days),
        )

    def url(self) -> str:
        return reverse("investigate:my-requests", kwargs={"slug": "acme"})

    def test_a_rep_sees_what_is_asked_of_them_and_answers_from_the_page(self) -> None:
        mine = self.ask(self.deal_a, "Who signs above $250k?")
        self.ask(self.deal_a2, "When does their budget year start?")  # asked of rep_a2
        self.sign_in(self.rep_a)
        response = self.client.get(self.url())
        self.assertContains(response, "Who signs above $250k?")
        self.assertNotContains(response, "When does their budget year start?")
        self.assertContains(response, 'class="nav-count" aria-label="1 open">1<')
        answer = reverse(
            "investigate:request-answer",
            kwargs={"slug": "acme", "pk": self.deal_a.pk, "request_pk": mine.pk},
        )
        response = self.client.post(answer, {"answer": "The CFO", "back": "mine"})
        self.assertRedirects(response, self.url())
        response = self.client.get(self.url())
        self.assertContains(response, "The CFO")  # answered, still listed for 30 days
        self.assertNotContains(response, "nav-count")

    def test_a_rep_with_nothing_asked_sees_an_empty_inbox(self) -> None:
        self.ask(self.deal_a, "Who signs?")
        self.sign_in(self.rep_b)
        response = self.client.get(self.url())
        self.assertContains(response, "Nothing is asked of you")
        self.assertNotContains(response, "Who signs?")

    def test_partners_and_outsiders_are_refused(self) -> None:
        self.sign_in(self.partner)
        self.assertEqual(self.client.get(self.url()).status_code, 403)
        self.sign_in(self.outsider)
        self.assertEqual(self.client.get(self.url()).status_code, 404)

    def test_a_request_on_a_deal_no_longer_theirs_drops_out(self) -> None:
        self.ask(self.deal_a, "Who signs?")
        # The deal moves to team B: rep_a no longer sees it.
        type(self.deal_a).objects.filter(pk=self.deal_a.pk).update(
            owner=self.rep_b, team=self.team_b
        )
        self.sign_in(self.rep_a)
        self.assertNotContains(self.client.get(self.url()), "Who signs?")

    def test_the_page_and_the_count_run_a_fixed_number_of_queries(self) -> None:
        self.ask(self.deal_a, "First question")
        self.sign_in(self.rep_a)
        pipeline = reverse("deals:pipeline", kwargs={"slug": "acme"})
        with CaptureQueriesContext(connection) as few_page:
            self.client.get(self.url())
        with CaptureQueriesContext(connection) as few_pipeline:
            self.client.get(pipeline)
        for i in range(8):
            self.ask(self.deal_a, f"Question {i}", days=i + 1)
        with CaptureQueriesContext(connection) as many_page:
            response = self.client.get(self.url())
        with CaptureQueriesContext(connection) as many_pipeline:
            pipeline_page = self.client.get(pipeline)
        self.assertContains(response, "Question 7")
        self.assertContains(pipeline_page, 'aria-label="9 open">9<')
        self.assertEqual(len(many_page), len(few_page))
        self.assertEqual(len(many_pipeline), len(few_pipeline))
        counts = [
            q["sql"]
            for q in many_pipeline.captured_queries
            if "investigationrequest" in q["sql"].lower()
        ]
        self.assertEqual(len(counts), 1, counts)
