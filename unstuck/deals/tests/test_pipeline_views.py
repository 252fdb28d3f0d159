"""The pipeline's filtered view: the status pills keep the other filters, totals (count,
amount, weighted amount) over every matching deal, a CSV of the same view for what the member
may see, and a stage filter that follows the chosen pipeline."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.urls import reverse
from django.utils import timezone

from unstuck.core.models import User
from unstuck.core.testing import PersonasTestCase
from unstuck.deals.models import Account, Deal, Pipeline, Stage, StageKind


class PipelineViewTests(PersonasTestCase):
    def url(self, name: str = "deals:pipeline", **query: object) -> str:
        base = reverse(name, kwargs={"slug": "acme"})
        return base + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")

    def csv_rows(self, **query: object) -> list[dict[str, str]]:
        response = self.client.get(self.url("deals:pipeline-csv", **query))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Content-Type"], "text/csv; charset=utf-8")
        text = b"".join(response.streaming_content).decode("utf-8-sig")  # type: ignore[attr-defined]
        return list(csv.DictReader(io.StringIO(text)))

    def test_the_status_pills_keep_the_other_filters(self) -> None:
        self.client.force_login(self.leader)
        response = self.client.get(
            self.url(owner=self.rep_a.pk, sort="name", q="Alpha", page=1), headers={}
        )
        hrefs = [
            a
            for a in response.content.decode().split('href="')[1:]
            if a.startswith(reverse("deals:pipeline", kwargs={"slug": "acme"}) + "?")
        ]
        won = next(h.split('"')[0] for h in hrefs if "status=won" in h.split('"')[0])
        query = parse_qs(urlsplit(won.replace("&amp;", "&")).query)
        self.assertEqual(
            query,
            {"owner": [str(self.rep_a.pk)], "sort": ["name"], "q": ["Alpha"], "status": ["won"]},
        )

    def test_an_htmx_filter_change_updates_the_pills_and_the_stage_filter_too(self) -> None:
        self.client.force_login(self.leader)
        response = self.client.get(self.url(owner=self.rep_a.pk), HTTP_HX_REQUEST="true")
        self.assertContains(response, 'id="status-tabs" aria-label="Status" hx-swap-oob="true"')
        self.assertContains(response, 'id="stage-filter" hx-swap-oob="true"')
        self.assertContains(response, f"owner={self.rep_a.pk}&amp;status=won")

    def test_each_row_links_to_its_deal_and_only_visible_deals_are_listed(self) -> None:
        self.client.force_login(self.rep_a)
        response = self.client.get(self.url(status="all"))
        html = response.content.decode()
        listed = [d.pk for d in response.context["page"].object_list]
        self.assertTrue(listed)
        for pk in listed:
            detail = reverse("deals:detail", kwargs={"slug": "acme", "pk": pk})
            self.assertIn(f'class="deal-name" href="{detail}"', html)
        linked = {
            int(part.split("/")[0])
            for part in html.split('class="deal-name" href="/w/acme/deals/')[1:]
        }
        self.assertEqual(linked, set(listed))
        hidden = Deal.objects.exclude(pk__in=listed).filter(workspace__slug="acme")
        self.assertTrue(hidden.exists())  # the persona may not see every deal

    def test_each_row_shows_its_deal_formatted(self) -> None:
        now = timezone.now()
        Deal.objects.filter(pk=self.deal_a.pk).update(
            close_date=date(2026, 3, 9), last_activity_at=now - timedelta(days=30)
        )
        Deal.objects.filter(pk=self.deal_a2.pk).update(
            owner=None, account=None, amount=Decimal("2500000"), currency="EUR"
        )
        won = self.make_deal(
            owner=self.rep_b, stage=self.stages[-2], last_activity_at=now - timedelta(days=40)
        )
        self.client.force_login(self.leader)
        html = self.client.get(self.url(status="all", sort="name")).content.decode()
        cells = {
            name: row.split("</tr>")[0]
            for row in html.split("<tr>")[2:]
            for name in [row.split('class="deal-name"')[1].split(">")[1].split("<")[0]]
        }
        late_open = cells["Alpha expansion"]
        self.assertIn('<div class="muted small">Account', late_open)
        self.assertIn('<td data-label="Owner">Rep.A</td>', late_open)
        self.assertIn('<td data-label="Amount" class="num">$50,000</td>', late_open)
        self.assertIn('<td data-label="Close date" class="late">Mar 9, 2026</td>', late_open)
        self.assertIn('<td data-label="In stage" class="num">30 d</td>', late_open)
        self.assertIn('<span class="late">30 d ago</span>', late_open)
        bare = cells["Alpha two"]
        self.assertIn('<div class="muted small">No account</div>', bare)
        self.assertIn('<td data-label="Owner">Unassigned</td>', bare)
        self.assertIn('<td data-label="Amount" class="num">€2.5M</td>', bare)
        self.assertIn('<td data-label="Close date" class="">—</td>', bare)
        self.assertIn('<span class="muted">none</span>', bare)
        closed = cells[won.name]
        self.assertIn(f'<span class="chip won">{self.stages[-2].name}</span>', closed)
        self.assertIn('<span class="muted">closed</span>', closed)
        self.assertIn('<span class="">40 d ago</span>', closed)  # closed: never "late"

    def test_each_member_may_filter_by_the_owners_they_could_see(self) -> None:
        def owners(user: User) -> list[str]:
            self.client.force_login(user)
            return sorted(o.email for o in self.client.get(self.url()).context["choices"].owners)

        reps_a = ["rep.a2@acme.test", "rep.a@acme.test"]
        self.assertEqual(
            owners(self.leader),
            ["manager.a@acme.test", "manager.b@acme.test", *reps_a, "rep.b@acme.test"],
        )
        self.assertEqual(owners(self.manager_a), ["manager.a@acme.test", *reps_a])
        self.assertEqual(owners(self.rep_a), reps_a)  # reps see their team's deals
        self.assertEqual(owners(self.partner), [])
        self.workspace.reps_see_team_deals = False
        self.workspace.save(update_fields=["reps_see_team_deals"])
        self.assertEqual(owners(self.rep_a), ["rep.a@acme.test"])

    def test_row_text_is_escaped(self) -> None:
        # The rows are written in Python (deals/rows.py), not by the template engine: every
        # text from the database must still reach the page escaped.
        Deal.objects.filter(pk=self.deal_a.pk).update(name="<b>Big</b> & \"bold\" 'deal'")
        assert self.deal_a.account_id is not None
        Account.objects.filter(pk=self.deal_a.account_id).update(name="<script>alert(1)</script>")
        User.objects.filter(pk=self.rep_a.pk).update(name="<i>Rep</i>")
        self.client.force_login(self.leader)
        html = self.client.get(self.url(status="all")).content.decode()
        self.assertIn(
            "&lt;b&gt;Big&lt;/b&gt; &amp; &quot;bold&quot; &#x27;deal&#x27;</a>"
            '<div class="muted small">&lt;script&gt;alert(1)&lt;/script&gt;</div>',
            html,
        )
        self.assertIn('<td data-label="Owner">&lt;i&gt;Rep&lt;/i&gt;</td>', html)
        self.assertNotIn("<script>alert", html)
        self.assertNotIn("<b>Big", html)

    def test_totals_cover_every_matching_deal_weighted_by_stage_probability(self) -> None:
        Deal.objects.filter(pk=self.deal_a.pk).update(stage=self.stages[2])  # Proposal, 50 %
        self.client.force_login(self.leader)
        response = self.client.get(self.url(team=self.team_a.pk))
        (total,) = response.context["totals"]
        self.assertEqual(total.count, 2)
        self.assertEqual(total.amount, Decimal("100000"))
        self.assertEqual(total.weighted, Decimal("30000.00"))  # 50 % and 10 % of 50,000
        self.assertContains(response, "$100,000")
        self.assertContains(response, "$30,000")
        # A manager's totals count only what they see.
        self.client.force_login(self.manager_b)
        (total,) = self.client.get(self.url()).context["totals"]
        self.assertEqual((total.count, total.amount), (1, Decimal("50000")))

    def test_totals_do_not_add_up_different_currencies(self) -> None:
        Deal.objects.filter(pk=self.deal_a.pk).update(currency="EUR", amount=Decimal("20000"))
        self.client.force_login(self.leader)
        totals = self.client.get(self.url()).context["totals"]
        self.assertEqual(
            {(t.currency, t.count, t.amount) for t in totals},
            {("USD", 2, Decimal("100000")), ("EUR", 1, Decimal("20000"))},
        )

    def test_the_csv_is_the_filtered_view(self) -> None:
        Deal.objects.filter(pk=self.deal_a.pk).update(stage=self.stages[2])
        self.client.force_login(self.leader)
        rows = self.csv_rows(team=self.team_a.pk, sort="name")
        self.assertEqual([r["deal"] for r in rows], ["Alpha expansion", "Alpha two"])
        first = rows[0]
        self.assertEqual(
            (first["stage"], first["probability_pct"], first["weighted_amount"]),
            ("Proposal", "50", "25000.00"),
        )
        self.assertEqual(first["pipeline"], "New business")
        self.assertEqual(first["days_in_stage"], "30")

    def test_the_csv_holds_only_what_each_persona_may_see(self) -> None:
        seen: dict[str, Any] = {}
        for who in ("leader", "manager_a", "rep_b", "partner"):
            self.client.force_login(getattr(self, who))
            seen[who] = sorted(r["deal"] for r in self.csv_rows(status="all"))
            page = self.client.get(self.url(status="all")).context["page"].object_list
            self.assertEqual(seen[who], sorted(d.name for d in page), who)
        self.assertEqual(seen["leader"], ["Alpha expansion", "Alpha two", "Bravo renewal"])
        self.assertEqual(seen["manager_a"], ["Alpha expansion", "Alpha two"])
        self.assertEqual(seen["rep_b"], ["Bravo renewal"])
        self.assertEqual(seen["partner"], ["Bravo renewal"])  # invited to deal_b only
        self.client.force_login(self.outsider)
        self.assertEqual(self.client.get(self.url("deals:pipeline-csv")).status_code, 404)

    def test_the_csv_neutralises_formulas(self) -> None:
        Deal.objects.filter(pk=self.deal_a.pk).update(name='=HYPERLINK("http://x","y")')
        self.client.force_login(self.rep_a)
        (row,) = self.csv_rows(owner=self.rep_a.pk)
        self.assertEqual(row["deal"], '\'=HYPERLINK("http://x","y")')


class StageFilterTests(PersonasTestCase):
    imported: Pipeline
    imported_stage: Stage

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.imported = Pipeline.objects.create(workspace=cls.workspace, name="Imported CRM")
        cls.imported_stage = Stage.objects.create(
            pipeline=cls.imported, name="Engaging", order=0, kind=StageKind.OPEN, probability=30
        )

    def url(self, **query: object) -> str:
        base = reverse("deals:pipeline", kwargs={"slug": "acme"})
        return base + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")

    def test_a_chosen_pipeline_offers_only_its_own_stages(self) -> None:
        self.client.force_login(self.leader)
        response = self.client.get(self.url(pipeline=self.pipeline.pk))
        stages = response.context["choices"].stages
        self.assertEqual([s.name for s in stages], [s.name for s in self.stages])
        self.assertNotContains(response, ">Engaging<")
        response = self.client.get(self.url(pipeline=self.imported.pk))
        self.assertEqual([s.name for s in response.context["choices"].stages], ["Engaging"])

    def test_with_every_pipeline_the_stages_are_grouped_by_pipeline(self) -> None:
        self.client.force_login(self.leader)
        response = self.client.get(self.url())
        html = response.content.decode()
        self.assertIn('<optgroup label="New business">', html)
        self.assertIn('<optgroup label="Imported CRM">', html)
        self.assertLess(html.index('label="Imported CRM"'), html.index(">Engaging<"))

    def test_a_stage_of_another_pipeline_is_dropped_with_a_note(self) -> None:
        self.client.force_login(self.leader)
        response = self.client.get(
            self.url(pipeline=self.pipeline.pk, stage=self.imported_stage.pk)
        )
        self.assertContains(response, "That stage is not in the chosen pipeline")
        self.assertEqual(len(response.context["page"].object_list), 3)

    def test_a_single_pipeline_workspace_shows_no_pipeline_choice(self) -> None:
        self.imported.delete()
        self.client.force_login(self.leader)
        response = self.client.get(self.url())
        self.assertNotContains(response, 'id="pipeline"')
        self.assertNotContains(response, "<optgroup")

    def test_each_member_is_offered_the_teams_they_may_filter_by(self) -> None:
        expected = {
            "leader": ["A", "B"],
            "manager_a": ["A"],
            "rep_a": ["A"],
            "partner": [],
        }
        for persona, names in expected.items():
            with self.subTest(persona):
                self.client.force_login(getattr(self, persona))
                response = self.client.get(self.url())
                self.assertEqual([t.name for t in response.context["choices"].teams], names)

    def test_every_pipeline_is_offered_once_default_first_whichever_is_chosen(self) -> None:
        self.client.force_login(self.leader)
        for chosen in ("", self.pipeline.pk, self.imported.pk):
            response = self.client.get(self.url(pipeline=chosen))
            pipelines = response.context["choices"].pipelines
            self.assertEqual([p.name for p in pipelines], ["New business", "Imported CRM"])

    def test_the_pipeline_page_reads_its_filter_choices_in_a_fixed_number_of_queries(self) -> None:
        # session, user, membership; the owners, the stages with their pipelines; the totals,
        # the page's rows; and the teams: a leader's, a manager's (read once for the access
        # rules and the filter), a rep's came with the membership (a rep's page counts their
        # open requests instead).
        expected = {"leader": 8, "manager_a": 8, "rep_a": 8, "partner": 6}
        for persona, queries in expected.items():
            with self.subTest(persona):
                self.client.force_login(getattr(self, persona))
                with self.assertNumQueries(queries):
                    self.assertEqual(self.client.get(self.url()).status_code, 200)
