"""The deal page reads what several of its cards share once per request."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from unstuck.cocreate.generator import deal_facts
from unstuck.deals.models import Contact, Deal, Stage, Stakeholder
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
        # A process reads the workspace's thresholds, benchmarks and score model once per
        # scoring version (investigate.scoring_cache): counted as every later view runs.
        self.client.get(url)
        with CaptureQueriesContext(connection) as ctx:
            response = self.client.get(url)
        self.assertContains(response, "Concern:</span> concern 0")  # the investigation card
        self.assertContains(response, "influence")  # the committee card
        self.assertContains(response, "Slow close")
        # Each member's factor boxes, those they weigh ticked (3 members, "price" each).
        self.assertContains(response, 'value="price" checked> Price</label>', count=3)
        self.assertContains(response, 'value="roi" > ROI</label>', count=3)
        reads = [q["sql"] for q in ctx.captured_queries]

        def times_read(table: str) -> int:
            # Rows of the table itself, by the ORM or written SQL (not the workspace-wide
            # "any rows?" checks of scoring, which name it unquoted).
            return sum(f'FROM "{table}"' in sql for sql in reads)

        # Before, the committee card, the investigation and the playbook's deal facts each
        # read the committee (3), and the latter two the obstacles and the pain (2 each).
        self.assertEqual(times_read("deals_stakeholder"), 1)
        self.assertEqual(times_read("investigate_obstacle"), 1)
        self.assertEqual(times_read("investigate_customerpain"), 1)
        # The pipeline's stages once (the move form, the timeline, the playbook's phase).
        self.assertEqual(times_read("deals_stage"), 1)
        self.assertEqual(times_read("investigate_dealassessment"), 1)
        # 32 before; 28 with the move form's stages read twice; 27 with the stages read
        # twice (the playbook's phase), the sessions' visibility read apart and scoring's two
        # "any rows?" checks each in a statement of its own; 21 with the thresholds,
        # benchmarks and score model kept by the process.
        for table in ("stallsettings", "stagebenchmark", "stallscoremodel"):
            self.assertEqual(times_read(f"investigate_{table}"), 0)
        self.assertEqual(len(reads), 21)

    def test_the_timeline_shows_a_stage_of_another_pipeline_the_deal_passed_through(
        self,
    ) -> None:
        from unstuck.deals.models import Pipeline, StageChange

        deal = self.make_deal(owner=self.rep_a, name="Moved")
        other = Pipeline.objects.create(workspace=self.workspace, name="Renewals")
        other_stages = [
            Stage.objects.create(pipeline=other, name=f"Renewal {n}", order=n) for n in range(3)
        ]
        StageChange.objects.filter(deal=deal).update(to_stage=other_stages[2])
        StageChange.objects.create(
            deal=deal, from_stage=other_stages[2], to_stage=self.stages[0], changed_at=ago(3)
        )
        self.client.force_login(self.rep_a)
        response = self.client.get(reverse("deals:detail", kwargs={"slug": "acme", "pk": deal.pk}))
        steps = response.context["timeline"]
        self.assertEqual([s.stage.pk for s in steps], [other_stages[2].pk, self.stages[0].pk])
        self.assertContains(response, f"<strong>{other_stages[2].name}</strong>")

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
            self.assertFalse(any(f'FROM "{table}"' in sql for sql in reads), table)

    def test_the_investigation_card_shows_its_rows_as_the_models_did(self) -> None:
        """Steps, feedback, requests, obstacles and pain are read by written SQL: names,
        labels, dates (in the workspace's time zone) and order as the models gave them."""
        from datetime import timedelta

        from django.utils import timezone

        from unstuck.core.models import User
        from unstuck.investigate.models import (
            DecisionStep,
            FeedbackEntry,
            InvestigationRequest,
        )

        deal = self.rich_deal()
        champion = deal.stakeholders.get(contact__name="P1")
        Obstacle.objects.create(
            deal=deal, kind="legal", description="Redlines", stakeholder=champion
        )
        DecisionStep.objects.create(deal=deal, order=2, name="Legal review", status="stuck")
        DecisionStep.objects.create(deal=deal, order=1, name="Security review", owner="CISO")
        gone = User.objects.create_user(email="gone@acme.test", password="x")
        FeedbackEntry.objects.create(deal=deal, kind="working", text="ROI landed", author=gone)
        gone.delete()  # the entry stays, without an author
        FeedbackEntry.objects.create(
            deal=deal, kind="not_working", text="IT is silent", author=self.manager_a
        )
        today = timezone.localdate()
        InvestigationRequest.objects.create(
            deal=deal,
            asked_by=self.manager_a,
            assignee=self.rep_a,
            question="Who signs?",
            due_date=today - timedelta(days=1),
        )
        InvestigationRequest.objects.create(
            deal=deal,
            asked_by=self.manager_a,
            assignee=None,
            question="Budget cycle?",
            due_date=today + timedelta(days=3),
            answer="Q3",
            answered_at=timezone.now(),
        )
        self.client.force_login(self.manager_a)
        response = self.client.get(reverse("deals:detail", kwargs={"slug": "acme", "pk": deal.pk}))
        inv = response.context["deal_reads"]
        self.assertEqual([s.name for s in inv.steps], ["Security review", "Legal review"])
        self.assertEqual(inv.steps[1].status_label, "Bogged down")
        self.assertEqual([f.author for f in inv.feedback], [self.manager_a.display_name, ""])
        self.assertIsNotNone(inv.feedback[0].created_at.tzinfo)
        self.assertContains(response, "Legal / procurement</span> Redlines")
        self.assertContains(response, '<span class="muted small">— P1</span>')
        manager = self.manager_a.display_name
        self.assertContains(response, f"{manager} → {self.rep_a.display_name} · due ")
        self.assertContains(response, f"{manager} → — · due ")
        self.assertContains(response, '<span class="chip bad">overdue</span>', count=1)
        self.assertContains(response, '<span class="chip won">answered</span>', count=1)
        self.assertContains(response, 'IT is silent <span class="muted small">— ' + manager)
        self.assertContains(response, 'ROI landed <span class="muted small">— , ')
        pain = inv.pain
        self.assertEqual(pain.updated_at, CustomerPain.objects.get(deal=deal).updated_at)
        self.assertEqual(inv.assessment, None)
