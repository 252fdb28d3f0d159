"""The deal page reads what several of its cards share once per request."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from unstuck.cocreate.generator import deal_facts
from unstuck.deals.models import Contact, Deal, Stakeholder
from unstuck.investigate.models import CustomerPain, Obstacle, StakeholderView
from unstuck.investigate.selectors import deal_reads
from unstuck.investigate.tests.helpers import InvestigateCase, ago


class DealPageQueryTests(InvestigateCase):
    def rich_deal(self) -> Deal:
        deal = self.make_deal(owner=self.rep_a, name="Rich")
        for n, role in enumerate(("economic_buyer", "champion", "user")):
            contact = Contact.objects.create(workspace=self.workspace, name=f"P{n}")
            s = Stakeholder.objects.create(deal=deal, contact=contact, buying_role=role)
            StakeholderView.objects.create(
                stakeholder=s, financial_concerns=f"concern {n}", factors=["price"]
            )
        CustomerPain.objects.create(deal=deal, pain="Slow close", resolution="Faster")
        Obstacle.objects.create(deal=deal, kind="budget", description="No budget")
        return deal

    def test_the_committee_obstacles_and_pain_are_read_once_per_page(self) -> None:
        deal = self.rich_deal()
        self.client.force_login(self.rep_a)
        url = reverse("deals:detail", kwargs={"slug": "acme", "pk": deal.pk})
        with CaptureQueriesContext(connection) as ctx:
            response = self.client.get(url)
        self.assertContains(response, "Concern:</span> concern 0")  # the investigation card
        self.assertContains(response, "influence")  # the committee card
        self.assertContains(response, "Slow close")
        reads = [q["sql"] for q in ctx.captured_queries]

        def times_read(table: str) -> int:
            # Rows of the table itself (not the workspace-wide "any rows?" checks of scoring).
            return sum(sql.startswith(f'SELECT "{table}".') for sql in reads)

        # Before, the committee card, the investigation and the playbook's deal facts each
        # read the committee (3), and the latter two the obstacles and the pain (2 each).
        self.assertEqual(times_read("deals_stakeholder"), 1)
        self.assertEqual(times_read("investigate_obstacle"), 1)
        self.assertEqual(times_read("investigate_customerpain"), 1)
        self.assertEqual(len(reads), 27)  # 32 before; 28 with the move form's stages read twice

    def test_deal_facts_from_the_page_reads_match_their_own_reads(self) -> None:
        deal = self.rich_deal()
        Obstacle.objects.create(deal=deal, kind="legal", description="Older", created_at=ago(5))
        Obstacle.objects.create(deal=deal, kind="legal", description="Gone", status="resolved")
        first = Obstacle.objects.create(
            deal=deal, kind="timing", description="Tie", created_at=ago(2)
        )
        Obstacle.objects.create(
            deal=deal, kind="budget", description="Tie 2", created_at=first.created_at
        )
        facts = deal_facts(deal)
        self.assertEqual(deal_facts(deal, reads=deal_reads(deal)), facts)
        self.assertEqual([d for _, d in facts.obstacles], ["No budget", "Tie", "Tie 2", "Older"])
        self.assertEqual(facts.economic_buyer, "P0")
        self.assertEqual(facts.pain, "Slow close")

    def test_the_committee_partial_reads_neither_obstacles_nor_pain(self) -> None:
        deal = self.rich_deal()
        gone = deal.stakeholders.first()
        assert gone is not None
        self.client.force_login(self.rep_a)
        url = reverse(
            "deals:stakeholder-delete",
            kwargs={"slug": "acme", "pk": deal.pk, "stakeholder_pk": gone.pk},
        )
        with CaptureQueriesContext(connection) as ctx:
            response = self.client.post(url, headers={"HX-Request": "true"})
        self.assertEqual(response.status_code, 200)
        self.assertNotContains(response, gone.contact.name)
        reads = [q["sql"] for q in ctx.captured_queries]
        for table in ("investigate_obstacle", "investigate_customerpain"):
            self.assertFalse(any(sql.startswith(f'SELECT "{table}".') for sql in reads), table)
