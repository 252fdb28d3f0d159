"""Who sees whose figures: the page, the API and the CLI through the access rules. A manager
sees their own and their reps'; a leader everyone's; reps and partners none (403); another
workspace, or a person one may not see, 404. The CLI's JSON equals the API's."""

from __future__ import annotations

import json
from io import StringIO
from unittest import mock

from django.core.management import call_command

from unstuck.core.models import Membership, User
from unstuck.core.testing import PersonasTestCase
from unstuck.insights.models import InsightsRun, RunStatus
from unstuck.insights.services import insights_recompute

API = "/api/v1/workspaces/acme/insights/effectiveness"
PAGE = "/w/acme/insights/"


class InsightsAccessTests(PersonasTestCase):
    def test_reps_and_partners_get_403_on_the_page_and_the_api(self) -> None:
        for user in (self.rep_a, self.partner):
            self.sign_in(user)
            self.assertEqual(self.client.get(PAGE).status_code, 403, user)
            self.assertEqual(self.client.get(API).status_code, 403, user)
            response = self.client.put(
                "/api/v1/workspaces/acme/insights/checkins",
                {"week": "2026-03-16", "innovation": 25, "coaching": 25, "efficiency": 25,
                 "admin": 25},
                content_type="application/json",
            )  # fmt: skip
            self.assertEqual(response.status_code, 403)

    def test_another_workspace_answers_404(self) -> None:
        self.sign_in(self.outsider)
        self.assertEqual(self.client.get(PAGE).status_code, 404)
        self.assertEqual(self.client.get(API).status_code, 404)

    def test_a_manager_sees_their_own_weeks_and_their_reps_side_by_side(self) -> None:
        self.sign_in(self.manager_a)
        data = self.client.get(API).json()
        self.assertEqual(data["person"]["email"], self.manager_a.email)
        self.assertEqual(len(data["weeks"]), 12)
        self.assertEqual(
            {p["email"] for p in data["people"]},
            {self.manager_a.email, self.rep_a.email, self.rep_a2.email},
        )
        self.assertNotIn("empowerment", data)
        self.assertNotIn("pulse", data)
        page = self.client.get(PAGE)
        self.assertContains(page, "Where your time went")
        self.assertContains(page, "Roughly how did your week split?")
        # people and time; the funnel and stuck value wait for a recomputation
        self.assertContains(page, "<svg", count=2)
        self.assertContains(page, "Not computed yet")

    def test_a_manager_may_look_at_their_rep_but_not_at_another_team(self) -> None:
        self.sign_in(self.manager_a)
        self.assertEqual(self.client.get(API, {"manager": self.rep_a.email}).status_code, 200)
        for email in (self.rep_b.email, self.manager_b.email, self.leader.email):
            self.assertEqual(self.client.get(API, {"manager": email}).status_code, 404, email)
            self.assertEqual(self.client.get(PAGE, {"person": email}).status_code, 404, email)

    def test_a_leader_sees_every_manager_side_by_side_and_the_room_they_have(self) -> None:
        self.sign_in(self.leader)
        data = self.client.get(API).json()
        self.assertIsNone(data["person"])
        self.assertEqual(
            [p["email"] for p in data["people"]], [self.manager_a.email, self.manager_b.email]
        )
        self.assertIn("empowerment", data)
        self.assertEqual(len(data["pulse"]), 6)
        self.assertEqual(self.client.get(API, {"manager": self.manager_b.email}).status_code, 200)
        page = self.client.get(PAGE)
        self.assertContains(page, "Every manager, side by side")
        self.assertContains(page, "How much room managers have")

    def test_the_cli_json_equals_what_the_api_shows_a_leader(self) -> None:
        self.sign_in(self.leader)
        api = self.client.get(API, {"manager": self.manager_a.email}).json()
        out = StringIO()
        call_command(
            "insights", "effectiveness", "--workspace", "acme", "--manager",
            self.manager_a.email, "--format", "json", stdout=out,
        )  # fmt: skip
        self.assertEqual(json.loads(out.getvalue()), api)

    def test_the_cli_as_a_rep_is_refused(self) -> None:
        from django.core.management.base import CommandError

        with self.assertRaisesMessage(CommandError, "managers and leaders"):
            call_command(
                "insights", "effectiveness", "--workspace", "acme", "--as", self.rep_a.email,
                stdout=StringIO(),
            )  # fmt: skip


class RecomputeTests(PersonasTestCase):
    def test_a_failed_recomputation_shows_its_reason_and_a_retry(self) -> None:
        run = InsightsRun.objects.create(workspace=self.workspace)
        with mock.patch(
            "unstuck.insights.timesplit.time_spent_recompute", side_effect=RuntimeError("disk full")
        ):
            insights_recompute(run=run)
        run.refresh_from_db()
        self.assertEqual(run.status, RunStatus.FAILED)
        self.assertIn("disk full", run.error)
        self.sign_in(self.manager_a)
        page = self.client.get(PAGE)
        self.assertContains(page, "Recomputation failed")
        self.assertContains(page, "disk full")
        self.assertContains(page, ">Retry</button>")

    def test_recompute_queues_one_run_and_reps_may_not(self) -> None:
        self.sign_in(self.manager_a)
        with self.captureOnCommitCallbacks(execute=False):
            self.client.post(PAGE + "recompute/")
            self.client.post(PAGE + "recompute/")
        self.assertEqual(InsightsRun.objects.filter(status=RunStatus.QUEUED).count(), 1)
        self.sign_in(self.rep_a)
        self.assertEqual(self.client.post(PAGE + "recompute/").status_code, 403)
        self.assertEqual(InsightsRun.objects.count(), 1)

    def test_nothing_is_written_on_a_get(self) -> None:
        self.sign_in(self.manager_a)
        self.client.get(PAGE)
        self.client.get(API)
        self.assertFalse(InsightsRun.objects.exists())
        self.assertTrue(Membership.objects.filter(user=self.manager_a).exists())


class QueryCountTests(PersonasTestCase):
    def test_the_page_runs_as_many_queries_with_many_deals_and_actions_as_with_few(self) -> None:
        from datetime import timedelta

        from django.db import connection
        from django.test.utils import CaptureQueriesContext
        from django.utils import timezone

        from unstuck.investigate.models import Obstacle

        self.sign_in(self.manager_a)

        def count() -> int:
            with CaptureQueriesContext(connection) as queries:
                self.assertEqual(self.client.get(PAGE).status_code, 200)
            return len(queries)

        insights_recompute(run=InsightsRun.objects.create(workspace=self.workspace))
        few = count()
        for k in range(15):
            deal = self.make_deal(owner=self.rep_a, stage=self.stages[k % 4])
            Obstacle.objects.create(
                deal=deal, kind="budget", description="x", created_by=self.manager_a,
                created_at=timezone.now() - timedelta(days=k),
            )  # fmt: skip
        insights_recompute(run=InsightsRun.objects.create(workspace=self.workspace))
        self.assertEqual(count(), few)


class FunnelTests(PersonasTestCase):
    def test_the_funnel_counts_only_the_teams_the_member_may_see(self) -> None:
        from unstuck.insights.pipeline import funnel

        insights_recompute(run=InsightsRun.objects.create(workspace=self.workspace))

        def total(user: User) -> tuple[int, float, float]:
            rows = funnel(Membership.objects.get(user=user, workspace=self.workspace))
            return (sum(r.deals for r in rows), sum(r.total for r in rows),
                    sum(r.weighted for r in rows))  # fmt: skip

        # Three open deals of 50,000 in Qualification (10 %): team A holds two of them.
        self.assertEqual(total(self.manager_a), (2, 100_000, 10_000))
        self.assertEqual(total(self.leader), (3, 150_000, 15_000))


class CheckInApiTests(PersonasTestCase):
    def test_a_bad_split_answers_400_with_the_field_and_writes_nothing(self) -> None:
        from django.utils import timezone

        from unstuck.insights.models import CheckIn
        from unstuck.insights.timesplit import week_start

        self.sign_in(self.manager_a)
        url = "/api/v1/workspaces/acme/insights/checkins"
        week = week_start(timezone.localdate()).isoformat()
        body = {"week": week, "innovation": 50, "coaching": 10, "efficiency": 10, "admin": 10}
        response = self.client.put(url, body, content_type="application/json")
        self.assertEqual(response.status_code, 400)
        self.assertEqual(response.json()["field"], "admin")
        self.assertIn("add up to 80 %", response.json()["detail"])
        self.assertFalse(CheckIn.objects.exists())
        body["admin"] = 30
        response = self.client.put(url, body, content_type="application/json")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(CheckIn.objects.get(user=self.manager_a).admin, 30)
