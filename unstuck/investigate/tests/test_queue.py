from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from unstuck.deals.models import Deal
from unstuck.investigate.models import DealAssessment, InvestigationRequest
from unstuck.investigate.scoring_cache import scoring_changed
from unstuck.investigate.services import assessments_recompute
from unstuck.investigate.tests.helpers import InvestigateCase, ago


class QueueTests(InvestigateCase):
    stuck_a: Deal
    stuck_b: Deal

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.stuck_a = cls.make_deal(owner=cls.rep_a, created_at=ago(60), name="Stuck A")
        cls.stuck_b = cls.make_deal(owner=cls.rep_b, created_at=ago(60), name="Stuck B")
        assessments_recompute(workspace=cls.workspace)

    def url(self, **query: str) -> str:
        base = reverse("investigate:queue", kwargs={"slug": "acme"})
        return base + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")

    def test_managers_land_on_the_queue(self) -> None:
        self.sign_in(self.manager_a)
        response = self.client.get(reverse("workspace-home", kwargs={"slug": "acme"}))
        self.assertRedirects(response, self.url())

    def test_reps_land_on_the_pipeline_and_are_refused_the_queue(self) -> None:
        self.sign_in(self.rep_a)
        response = self.client.get(reverse("workspace-home", kwargs={"slug": "acme"}))
        self.assertRedirects(response, reverse("deals:pipeline", kwargs={"slug": "acme"}))
        self.assertEqual(self.client.get(self.url()).status_code, 403)

    def test_outsiders_get_404(self) -> None:
        self.sign_in(self.outsider)
        self.assertEqual(self.client.get(self.url()).status_code, 404)

    def test_queue_lists_stuck_deals_of_the_managers_teams_with_reasons(self) -> None:
        self.sign_in(self.manager_a)
        response = self.client.get(self.url())
        self.assertContains(response, "Stuck A")
        self.assertContains(response, "in Qualification; 90 % of won deals left it")
        self.assertNotContains(response, "Stuck B")  # team B is not hers

    def test_each_row_links_to_its_deal_and_a_manager_to_a_session_on_it(self) -> None:
        self.sign_in(self.manager_a)
        response = self.client.get(self.url(show="all"))
        html = response.content.decode()
        rows = list(response.context["page"].object_list)
        self.assertGreaterEqual(len(rows), 2)
        for a in rows:
            detail = reverse("deals:detail", kwargs={"slug": "acme", "pk": a.deal_id})
            start = reverse("cocreate:start", kwargs={"slug": "acme", "deal_pk": a.deal_id})
            self.assertIn(f'class="deal-name" href="{detail}"', html)
            self.assertIn(f'href="{start}"', html)

    def test_queue_is_ranked_by_payoff(self) -> None:
        DealAssessment.objects.filter(deal=self.stuck_a).update(payoff=10, stall_score=80)
        DealAssessment.objects.filter(deal=self.deal_a).update(payoff=500, stall_score=45)
        self.sign_in(self.manager_a)
        page = self.client.get(self.url()).context["page"]
        self.assertEqual(
            [a.deal_id for a in page.object_list][:2], [self.deal_a.pk, self.stuck_a.pk]
        )

    def test_a_row_shows_its_requests_extra_signals_owner_and_a_missing_payoff(self) -> None:
        signals = [
            {"code": f"s{i}", "label": f"Label {i}", "severity": "warn", "text": f"Reason {i}"}
            for i in range(5)
        ]
        DealAssessment.objects.filter(deal=self.stuck_a).update(
            signals=signals, payoff=0, win_probability=0.2, comparable_probability=0.2
        )
        for question in ("Who signs?", "What budget?"):
            InvestigationRequest.objects.create(
                deal=self.stuck_a,
                asked_by=self.manager_a,
                assignee=self.rep_a,
                question=question,
                due_date=timezone.localdate() + timedelta(days=3),
            )
        self.sign_in(self.manager_a)
        response = self.client.get(self.url(show="all"))
        self.assertContains(response, "2 open requests")
        self.assertContains(response, "Reason 2")
        self.assertNotContains(response, "Reason 3")  # three shown, the rest counted
        self.assertContains(response, "+ 2 more on the deal page")
        self.assertContains(response, "comparable healthy deals win no more often")
        self.assertContains(response, "win 20 % → 20 %")
        self.assertContains(response, f"{self.rep_a.display_name} · ")
        self.assertContains(response, "in stage 60 days")

    def test_a_rows_text_is_escaped(self) -> None:
        Deal.objects.filter(pk=self.stuck_a.pk).update(name='<b>Tom & "Jerry\'s"</b>')
        signals = [{"code": "x", "label": "<i>L</i>", "severity": "warn", "text": "a < b"}]
        DealAssessment.objects.filter(deal=self.stuck_a).update(signals=signals)
        self.sign_in(self.manager_a)
        html = self.client.get(self.url()).content.decode()
        self.assertIn("&lt;b&gt;Tom &amp; &quot;Jerry&#x27;s&quot;&lt;/b&gt;</a>", html)
        self.assertIn('<span class="chip warn">&lt;i&gt;L&lt;/i&gt;</span> a &lt; b</li>', html)
        self.assertNotIn("<b>Tom", html)

    def test_a_row_without_a_stage_entry_date_shows_a_dash_not_none(self) -> None:
        # The column is NOT NULL today; a row read without it (a join, a future import)
        # shows the product's mark for an unknown value, not "None days".
        from unstuck.core.access import deal_scope
        from unstuck.core.models import Membership
        from unstuck.investigate.selectors import _queue_page_rows, _queue_row_columns, _queue_rows

        manager = Membership.objects.get(user=self.manager_a, workspace=self.workspace)
        rows = _queue_page_rows(
            manager, deal_scope(manager, write=False), stuck_only=False, offset=0, limit=50
        )
        entered = _queue_row_columns().index(Deal._meta.get_field("stage_entered_at"))
        row = next(r for r in rows if r[0] == self.stuck_a.pk)
        row = (*row[:entered], None, *row[entered + 1 :])
        byline = _queue_rows([row], 1, "acme")[0].byline
        self.assertTrue(byline.endswith("· in stage —"), byline)
        self.assertNotIn("None", byline)

    def test_the_written_page_reads_what_the_apis_queryset_reads(self) -> None:
        """The page's statement (written out) and the API's queryset: the same deals in the
        same order, each value as the ORM converts it (decimals, JSON, datetimes)."""
        from unstuck.core.access import deal_scope, deals_visible_to
        from unstuck.core.models import Membership
        from unstuck.investigate.selectors import _queue_assessments, _queue_page_rows

        for i in range(4):
            self.make_deal(owner=self.rep_a, created_at=ago(50 + i), amount=Decimal("1234.56"))
        Deal.objects.filter(pk=self.stuck_b.pk).update(owner=None)  # unassigned
        assessments_recompute(workspace=self.workspace)
        InvestigationRequest.objects.create(
            deal=self.stuck_a,
            asked_by=self.manager_a,
            assignee=self.rep_a,
            question="Who signs?",
            due_date=timezone.localdate(),
        )
        columns = [
            "deal_id", "payoff", "stall_score", "signals", "win_probability",
            "comparable_probability", "open_requests", "deal__name", "deal__amount",
            "deal__currency", "deal__stage_entered_at", "deal__stage__name",
            "deal__owner__name", "deal__owner__email",
        ]  # fmt: skip
        for user in (self.leader, self.manager_a, self.manager_b):
            m = Membership.objects.get(user=user, workspace=self.workspace)
            scope = deal_scope(m, write=False)
            for stuck_only in (True, False):
                orm = _queue_assessments(
                    m, deals_visible_to(m, scope=scope).open(), stuck_only=stuck_only
                ).values_list(*columns)
                written = _queue_page_rows(m, scope, stuck_only=stuck_only, offset=1, limit=3)
                with self.subTest(user=user.email, stuck_only=stuck_only):
                    self.assertEqual(written, list(orm[1:4]))
                    self.assertEqual(
                        [type(v) for v in written[0]] if written else [],
                        [type(v) for v in orm[1]] if written else [],
                    )
        everything = _queue_page_rows(
            Membership.objects.get(user=self.leader, workspace=self.workspace),
            deal_scope(Membership.objects.get(user=self.leader), write=False),
            stuck_only=False,
            offset=0,
            limit=50,
        )
        self.assertIn(Decimal("1234.56"), [row[8] for row in everything])
        self.assertIn(1, [row[6] for row in everything])  # the open request counted

    def test_the_summary_counts_open_deals_only_for_leaders_and_managers_alike(self) -> None:
        from unstuck.core.models import Membership
        from unstuck.deals.models import Stage, StageKind
        from unstuck.deals.services import deal_move_to_stage
        from unstuck.investigate.selectors import queue_summary

        leader = Membership.objects.get(user=self.leader, workspace=self.workspace)
        manager = Membership.objects.get(user=self.manager_a, workspace=self.workspace)
        before = [queue_summary(m).open_deals for m in (leader, manager)]
        self.assertGreater(min(before), 0)
        # Closed after it was scored: its assessment stays until the next recompute.
        won = Stage.objects.get(pipeline=self.pipeline, kind=StageKind.WON)
        deal_move_to_stage(deal=self.stuck_a, stage=won, by=None)
        after = [queue_summary(m).open_deals for m in (leader, manager)]
        self.assertEqual(after, [n - 1 for n in before])

    def test_overdue_requests_show_on_the_queue(self) -> None:
        InvestigationRequest.objects.create(
            deal=self.stuck_a,
            asked_by=self.manager_a,
            assignee=self.rep_a,
            question="Who signs above $250k?",
            due_date=timezone.localdate() - timedelta(days=2),
        )
        self.sign_in(self.manager_a)
        response = self.client.get(self.url())
        self.assertContains(response, "Overdue requests")
        self.assertContains(response, "Who signs above $250k?")

    def test_queue_runs_a_fixed_number_of_queries_whatever_the_page_holds(self) -> None:
        self.sign_in(self.leader)
        # Each count after a first view: the first after a recompute also reads the
        # workspace's score model into the process (investigate.scoring_cache).
        self.client.get(self.url(show="all"))
        with CaptureQueriesContext(connection) as few:
            self.client.get(self.url(show="all"))
        for i in range(15):
            self.make_deal(owner=self.rep_a, created_at=ago(40 + i))
        assessments_recompute(workspace=self.workspace)
        self.client.get(self.url(show="all"))
        with CaptureQueriesContext(connection) as many:
            response = self.client.get(self.url(show="all"))
        self.assertGreater(len(response.context["page"].object_list), 15)
        self.assertEqual(len(few), len(many))

    def test_deal_page_says_why_the_deal_is_flagged(self) -> None:
        self.sign_in(self.manager_a)
        url = reverse("deals:detail", kwargs={"slug": "acme", "pk": self.stuck_a.pk})
        response = self.client.get(url)
        self.assertContains(response, "Why this deal is flagged")
        self.assertContains(response, "60 days in Qualification")

    def test_deal_page_runs_a_fixed_number_of_queries(self) -> None:
        self.sign_in(self.manager_a)
        url = reverse("deals:detail", kwargs={"slug": "acme", "pk": self.stuck_a.pk})
        with CaptureQueriesContext(connection) as before:
            self.client.get(url)
        self.committee(self.stuck_a, "champion", "economic_buyer", "user", "legal")
        for _ in range(5):
            self.touch(self.stuck_a, 3)
        with CaptureQueriesContext(connection) as after:
            self.client.get(url)
        self.assertEqual(len(before), len(after))


class StallSettingsTests(InvestigateCase):
    def url(self) -> str:
        return reverse("investigate:settings", kwargs={"slug": "acme"})

    def test_leaders_tune_thresholds_and_the_signals_follow(self) -> None:
        from unstuck.investigate.benchmarks import benchmarks_recompute
        from unstuck.investigate.stall_signals import signals_for_deal

        benchmarks_recompute(workspace=self.workspace)
        deal = self.make_deal(owner=self.rep_a, created_at=ago(3), next_step="x")
        self.touch(deal, 8)
        row = signals_for_deal(self.workspace, deal.pk)
        assert row is not None
        self.assertIn("no_activity", {s.code for s in row["signals"]})
        self.sign_in(self.leader)
        response = self.client.post(
            self.url(),
            {
                "no_activity_days": 14,
                "slip_count": 2,
                "single_threaded_max": 1,
                "champion_quiet_days": 21,
                "economic_buyer_from_stage": 1,
                "shrinkage_strength": 20,
            },
        )
        self.assertEqual(response.status_code, 302)
        row = signals_for_deal(self.workspace, deal.pk)
        assert row is not None
        self.assertNotIn("no_activity", {s.code for s in row["signals"]})

    def test_managers_read_the_thresholds_but_cannot_change_them(self) -> None:
        self.sign_in(self.manager_a)
        self.assertContains(self.client.get(self.url()), "Stage benchmarks")
        response = self.client.post(self.url(), {"slip_count": 5})
        self.assertEqual(response.status_code, 403)


class NeverScoredQueueTests(InvestigateCase):
    def url(self) -> str:
        return reverse("investigate:queue", kwargs={"slug": "acme"})

    def test_a_workspace_never_scored_says_scoring_not_zero(self) -> None:
        self.make_deal(owner=self.rep_a, created_at=ago(60), name="Stuck A")
        self.sign_in(self.manager_a)
        response = self.client.get(self.url())
        self.assertContains(response, "scoring…")
        self.assertContains(response, "data-reload-after")
        self.assertNotContains(response, "of 0 open")
        self.assertNotContains(response, "No stuck deals")

    def test_once_scored_zero_means_zero(self) -> None:
        assessments_recompute(workspace=self.workspace)
        from unstuck.deals.models import Stage, StageKind
        from unstuck.deals.services import deal_move_to_stage

        lost = Stage.objects.get(pipeline=self.pipeline, kind=StageKind.LOST)
        for deal in Deal.objects.filter(workspace=self.workspace, status=StageKind.OPEN):
            deal_move_to_stage(deal=deal, stage=lost, by=None)  # every deal closed since
        self.sign_in(self.manager_a)
        response = self.client.get(self.url())
        self.assertNotContains(response, "scoring…")
        self.assertContains(response, "of 0 open")


class NoStuckDealQueueTests(InvestigateCase):
    """An empty queue says where the stuck line is, and, when a single-measure baseline
    scores the workspace, that such a measure can leave every deal below it."""

    def url(self) -> str:
        return reverse("investigate:queue", kwargs={"slug": "acme"})

    def store_model(self, method: str) -> None:
        from unstuck.investigate.models import StallScoreModel
        from unstuck.investigate.stall_score import Fit, StallModel

        model = StallModel(
            method=method,
            fit=Fit([], [], [], [], 0.0),
            stage_rates={},
            overall=0.5,
            horizon_days=90,
            snapshots=400,
            landmarks=6,
            trained_until=timezone.now().isoformat(),
            reason="On this workspace's own back-test the learnt score was not better.",
        )
        StallScoreModel.objects.update_or_create(
            workspace=self.workspace,
            defaults={
                "method": method,
                "params": model.as_json(),
                "reason": model.reason,
                "trained_at": timezone.now(),
            },
        )
        scoring_changed(self.workspace)  # as stall_model_train does

    def open_queue_without_stuck_deals(self, method: str) -> Any:
        self.make_deal(owner=self.rep_a, created_at=ago(2), name="Fresh deal")
        assessments_recompute(workspace=self.workspace)
        self.store_model(method)
        DealAssessment.objects.update(stall_score=30)
        self.sign_in(self.manager_a)
        return self.client.get(self.url())

    def test_a_baseline_scorer_is_named_as_why_nothing_is_stuck(self) -> None:
        response = self.open_queue_without_stuck_deals("stage_rate")
        self.assertContains(response, "No stuck deals: no open deal's stall score reaches 40")
        self.assertContains(response, "scored by the stage&#x27;s not-won rate, a single measure")
        self.assertContains(response, "Show every open deal, ranked by payoff")

    def test_a_learnt_scorer_gets_no_baseline_note(self) -> None:
        response = self.open_queue_without_stuck_deals("learnt")
        self.assertContains(response, "No stuck deals: no open deal's stall score reaches 40")
        self.assertNotContains(response, "a single measure")
