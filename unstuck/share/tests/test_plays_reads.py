"""The playbook provider on the suggestion seam, and the reads the weekly digest uses."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

from django.utils import timezone

from unstuck.cocreate.generator import suggest_for
from unstuck.investigate.models import DealAssessment
from unstuck.share.models import PlayApplication
from unstuck.share.plays_outcomes import outcome_refresh, stored_outcome
from unstuck.share.selectors.plays import play_of_the_week, plays_applied_on_unstuck_deals
from unstuck.share.services import plays as services
from unstuck.share.tests.plays_helpers import PlaysTestCase, membership, move


class PlaybookProviderTests(PlaysTestCase):
    def test_a_verified_play_that_fits_the_obstacle_is_suggested_first_with_its_evidence(
        self,
    ) -> None:
        # Never measured and under the minimum of applications: "too early to tell" is
        # known without measuring, and the read computes nothing.
        with mock.patch("unstuck.share.plays_outcomes.play_outcome") as compute:
            unmeasured = suggest_for(self.deal_a)[0]
        compute.assert_not_called()
        self.assertTrue(any("too early to tell" in w for w in unmeasured.why))
        # Reasons are clauses joined into one sentence: none ends with its own period.
        self.assertFalse([w for w in unmeasured.why if w.endswith(".")])
        outcome_refresh(self.budget_play)  # as the background task leaves it
        found = suggest_for(self.deal_a)
        keys = [s.key for s in found]
        self.assertEqual(keys[0], f"playbook:{self.budget_play.pk}")
        top = found[0]
        self.assertEqual(top.source, "playbook")
        self.assertTrue(any("budget obstacle" in w for w in top.why))
        self.assertTrue(any("too early to tell" in w for w in top.why))  # its evidence
        self.assertNotIn(f"playbook:{self.draft_play.pk}", keys)  # drafts are not suggested

    def test_the_deal_page_ranks_by_the_last_stored_outcome_without_recomputing_it(
        self,
    ) -> None:
        # Stored yesterday (the key names another day): the suggestion reads it as it is;
        # recomputing on a read costs a cohort of the whole workspace per play.
        stored = stored_outcome(self.budget_play)
        stored["summary"]["headline"] = "Stored yesterday: working"
        stored["summary"]["verdict"] = "working"
        self.budget_play.outcome = stored
        self.budget_play.outcome_key = "1:1:2000-01-01"
        self.budget_play.save()
        with mock.patch("unstuck.share.plays_outcomes.play_outcome") as compute:
            found = {s.key: s for s in suggest_for(self.deal_a)}
        compute.assert_not_called()
        self.assertIn("Stored yesterday: working", found[f"playbook:{self.budget_play.pk}"].why)

    def test_a_play_that_fits_nothing_on_the_deal_is_not_suggested(self) -> None:
        self.budget_play.stages = ["Proposal"]  # deal_b: Qualification, no obstacle
        self.budget_play.save()
        self.assertNotIn(
            f"playbook:{self.budget_play.pk}", [s.key for s in suggest_for(self.deal_b)]
        )
        # a stall signal the play answers is a fit of its own
        self.budget_play.stall_signals = ["no_activity"]
        self.budget_play.save()
        DealAssessment.objects.create(
            deal=self.deal_b, workspace=self.workspace, stall_score=50,
            signals=[{"code": "no_activity", "label": "No activity"}],
        )  # fmt: skip
        found = {s.key: s for s in suggest_for(self.deal_b)}
        self.assertIn("no activity", " ".join(found[f"playbook:{self.budget_play.pk}"].why))

    def test_accepting_it_in_a_session_adds_a_playbook_option(self) -> None:
        from unstuck.cocreate.models import Phase, Session
        from unstuck.cocreate.services import suggestion_accept

        session = Session.objects.create(
            workspace=self.workspace, deal=self.deal_a, ideal_outcome="Go", phase=Phase.DIVERGE
        )
        option = suggestion_accept(
            membership=membership(self.manager_a),
            session=session,
            key=f"playbook:{self.budget_play.pk}",
        )
        self.assertEqual((option.source, option.title), ("playbook", self.budget_play.title))


class DigestReadsTests(PlaysTestCase):
    def test_play_of_the_week_is_the_one_the_teams_applied_most(self) -> None:
        self.assertIsNone(play_of_the_week(self.workspace, [self.team_a.pk]))
        services.play_apply(
            membership=membership(self.rep_a), play=self.budget_play, deal=self.deal_a
        )
        found = play_of_the_week(self.workspace, [self.team_a.pk])
        assert found is not None
        self.assertEqual(found.play, self.budget_play)
        self.assertEqual(found.applications_recent, 1)
        self.assertEqual(found.outcome.verdict, "too_early")
        self.assertEqual(found.outcome.applications, 1)
        # a draft is never the play of the week
        services.play_apply(
            membership=membership(self.rep_b), play=self.draft_play, deal=self.deal_b
        )
        found_b = play_of_the_week(self.workspace, [self.team_b.pk])
        assert found_b is not None
        self.assertEqual(found_b.play, self.budget_play)
        self.assertEqual(found_b.applications_recent, 0)

    def test_unstuck_deals_are_those_that_moved_after_a_play(self) -> None:
        now = timezone.now()
        week_ago = now - timedelta(days=7)
        services.play_apply(
            membership=membership(self.rep_a), play=self.budget_play, deal=self.deal_a
        )
        PlayApplication.objects.update(applied_at=now - timedelta(days=3))
        move(self.deal_a, self.stages[2], now - timedelta(days=1))
        # deal_a2 moved too, but without a play; deal_b had a play but did not move
        move(self.deal_a2, self.stages[1], now - timedelta(days=1))
        services.play_apply(
            membership=membership(self.rep_b), play=self.budget_play, deal=self.deal_b
        )
        found = plays_applied_on_unstuck_deals(
            self.workspace, [self.team_a.pk, self.team_b.pk], week_ago
        )
        self.assertEqual(
            [(u.deal, u.play, u.to_stage) for u in found],
            [(self.deal_a, self.budget_play, "Proposal")],
        )
        self.assertEqual(
            plays_applied_on_unstuck_deals(self.workspace, [self.team_b.pk], week_ago), []
        )
        self.assertEqual(plays_applied_on_unstuck_deals(self.workspace, [self.team_a.pk], now), [])

    def test_a_move_before_the_play_does_not_count(self) -> None:
        now = timezone.now()
        move(self.deal_a, self.stages[1], now - timedelta(days=2))
        services.play_apply(
            membership=membership(self.rep_a), play=self.budget_play, deal=self.deal_a
        )
        self.assertEqual(
            plays_applied_on_unstuck_deals(
                self.workspace, [self.team_a.pk], now - timedelta(days=7)
            ),
            [],
        )

    def test_a_win_after_a_play_counts(self) -> None:
        now = timezone.now()
        services.play_apply(
            membership=membership(self.rep_a), play=self.budget_play, deal=self.deal_a
        )
        PlayApplication.objects.update(applied_at=now - timedelta(days=3))
        move(self.deal_a, self.stages[4], now - timedelta(days=1))
        found = plays_applied_on_unstuck_deals(self.workspace, [], now - timedelta(days=7))
        self.assertEqual([u.won for u in found], [True])


class DealPagePlaybookTests(PlaysTestCase):
    def test_the_deal_page_counts_the_evidence_and_fits_the_stored_signals(self) -> None:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext
        from django.urls import reverse

        signal_play = self.make_play(
            title="Wake a silent deal",
            stall_signals=["no_activity"],
            status="verified",
            verified_at=timezone.now(),
        )
        self.budget_play.evidence_deals.set([self.deal_b, self.deal_a2])
        signal_play.evidence_deals.set([self.deal_b])
        DealAssessment.objects.create(
            deal=self.deal_a, workspace=self.workspace, stall_score=50,
            signals=[{"code": "no_activity", "label": "No activity"}],
        )  # fmt: skip
        self.client.force_login(self.rep_a)
        url = reverse("deals:detail", kwargs={"slug": "acme", "pk": self.deal_a.pk})
        with CaptureQueriesContext(connection) as ctx:
            response = self.client.get(url)
        self.assertContains(response, "Phase the rollout to fit the budget")
        self.assertContains(response, "2 evidence deals")  # counted, not fetched
        self.assertContains(response, "Wake a silent deal")  # the stored signal fits it
        self.assertContains(response, "1 evidence deal.")
        reads = [q["sql"] for q in ctx.captured_queries]
        # The assessment is read once (why it is flagged, and the playbook's signals).
        self.assertEqual(sum('FROM "investigate_dealassessment"' in sql for sql in reads), 1)
        # No evidence deal is read as a deal: the only deal row read is the page's.
        self.assertEqual(sum(sql.startswith('SELECT "deals_deal".') for sql in reads), 1)
