"""A play's measured outcome through the shared estimator, proved on history with a planted
effect: the interval covers the planted difference, a null play is not called a winner, and
below the minimum it is "too early to tell"."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from unstuck.core.testing import PersonasTestCase
from unstuck.demo.plays import Arm, plant_history, quarter_start
from unstuck.share.models import Play, PlayStatus
from unstuck.share.plays_outcomes import (
    outcome_panel,
    outcome_refresh,
    outcome_summary,
    play_outcome,
    stale_outcomes_refresh,
    stored_outcome,
)

WORKING_WIN, BASE_WIN, MEAN_CLOSE, HORIZON = 0.6, 0.3, 30.0, 180


def planted_difference() -> float:
    """The estimand's true value: the difference in P(won within the horizon) between the
    arms, each closing an exponential time after the clock starts."""
    import math

    closes_in_time = 1 - math.exp(-HORIZON / MEAN_CLOSE)
    return (WORKING_WIN - BASE_WIN) * closes_in_time


class PlantedEffectTests(PersonasTestCase):
    working: Play
    null: Play
    early: Play

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()

        def play(title: str) -> Play:
            return Play.objects.create(
                workspace=cls.workspace,
                title=title,
                what_to_do="x",
                status=PlayStatus.VERIFIED,
                verified_at=timezone.now(),
            )

        cls.working, cls.null, cls.early = play("Works"), play("Null"), play("New")
        plant_history(
            workspace=cls.workspace,
            stages=cls.stages,
            arms=[
                Arm(cls.working, 80, WORKING_WIN),
                Arm(cls.null, 80, BASE_WIN),
                Arm(None, 400, BASE_WIN),
            ],
            start=quarter_start(timezone.now() - timedelta(days=420)),
            mean_close_days=MEAN_CLOSE,
            seed=11,
        )
        plant_history(
            workspace=cls.workspace,
            stages=cls.stages,
            arms=[Arm(cls.early, 4, BASE_WIN)],
            start=quarter_start(timezone.now() - timedelta(days=420)),
            seed=12,
        )

    def test_the_interval_covers_the_planted_effect_and_calls_it_working(self) -> None:
        result = play_outcome(self.working)
        assert result.win is not None
        truth = planted_difference()
        self.assertLessEqual(result.win.interval.low, truth)
        self.assertGreaterEqual(result.win.interval.high, truth)
        self.assertGreater(result.win.interval.low, 0)
        self.assertEqual(result.verdict, "working")
        self.assertEqual(result.treated.n, 80)
        self.assertGreater(result.win.p_better, 0.95)

    def test_the_null_play_is_not_called_a_winner(self) -> None:
        result = play_outcome(self.null)
        assert result.win is not None
        self.assertNotEqual(result.verdict, "working")
        self.assertLessEqual(result.win.interval.low, 0)
        self.assertGreaterEqual(result.win.interval.high, 0)

    def test_below_ten_applications_it_is_too_early_to_tell(self) -> None:
        result = play_outcome(self.early)
        self.assertEqual(result.verdict, "too_early")
        self.assertIsNone(result.win)
        self.assertIn("too early to tell", result.headline("Deals with this play"))
        panel = outcome_panel(stored_outcome(self.early))
        self.assertTrue(panel["too_early"])
        self.assertIsNone(panel["win_chart"])

    def test_the_page_shows_n_the_interval_and_the_curves(self) -> None:
        outcome_refresh(self.working)  # as the background task or the nightly job does
        outcome_refresh(self.early)
        self.sign_in(self.leader)
        page = self.client.get(f"/w/acme/share/plays/{self.working.pk}/")
        self.assertContains(page, "Applications (n)")
        self.assertContains(page, "90% interval")
        self.assertContains(page, "Working")
        self.assertContains(page, "<svg", count=2)  # KM curves and the win-rate intervals
        early = self.client.get(f"/w/acme/share/plays/{self.early.pk}/")
        self.assertContains(early, "Too early to tell")
        self.assertNotContains(early, "% (")  # no win rate with an interval

    def test_the_summary_is_what_lists_and_the_digest_show(self) -> None:
        outcome_refresh(self.working)
        s = outcome_summary(self.working)
        self.assertEqual((s.n, s.verdict), (80, "working"))
        self.assertIsNotNone(s.p_better)
        self.assertEqual(outcome_summary(self.early).verdict_label, "Too early to tell")

    def test_a_read_shows_the_stored_figure_and_marks_it_stale_never_computing(self) -> None:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        from unstuck.share.models import PlayApplication

        first = outcome_refresh(self.early)  # the background task stores it
        self.assertIsNotNone(first["as_of"])
        with CaptureQueriesContext(connection) as q:
            again = stored_outcome(self.early)
        self.assertEqual(again, first)
        self.assertFalse(again["stale"])
        self.assertLessEqual(len(q), 1)  # the key only; nothing recomputed
        PlayApplication.objects.filter(play=self.early).first().delete()  # type: ignore[union-attr]
        self.early.refresh_from_db()
        stale_key = self.early.outcome_key
        with CaptureQueriesContext(connection) as q:
            stale = stored_outcome(self.early)
        self.assertLessEqual(len(q), 1)  # still not computed on a read
        self.assertTrue(stale["stale"])
        self.assertEqual(stale["summary"]["applications"], 4)  # the stored figure, as of then
        self.assertEqual(stale["as_of"], first["as_of"])
        self.early.refresh_from_db()
        self.assertEqual(self.early.outcome_key, stale_key)  # and stores nothing

    def test_a_play_never_measured_says_so_without_computing(self) -> None:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as q:
            never = stored_outcome(self.working)
        self.assertLessEqual(len(q), 1)
        self.assertIsNone(never["as_of"])
        self.assertTrue(never["stale"])
        self.assertEqual(never["summary"]["applications"], 80)
        self.assertEqual(never["summary"]["verdict"], "too_early")
        self.assertIn("Not measured yet", never["summary"]["headline"])

    def test_the_page_shows_as_of_and_a_stale_marker_and_a_post_measures_again(self) -> None:
        from django_tasks_db.models import DBTaskResult

        from unstuck.core.models import TaskRun
        from unstuck.share.models import PlayApplication
        from unstuck.share.plays_tasks import refresh_play_outcome

        outcome_refresh(self.working)
        PlayApplication.objects.filter(play=self.working).first().delete()  # type: ignore[union-attr]
        self.sign_in(self.leader)
        url = f"/w/acme/share/plays/{self.working.pk}/"
        page = self.client.get(url)
        self.assertContains(page, 'id="outcome-stale"')
        self.assertContains(page, "Measured ")
        self.assertContains(page, "Measure again")
        self.assertContains(page, ">80<")  # the stored n, as of its measurement
        self.assertFalse(DBTaskResult.objects.exists())  # a GET queues nothing
        with self.captureOnCommitCallbacks(execute=True):
            self.client.post(f"{url}outcome/refresh/")
        queued = DBTaskResult.objects.get(task_path__endswith="refresh_play_outcome")
        self.assertEqual(queued.args_kwargs["args"], [self.working.pk])
        refresh_play_outcome.call(self.working.pk)  # what the worker runs
        run = TaskRun.objects.get(kind="playbook")  # recorded through core.background.tracked
        self.assertEqual((run.status, run.workspace_id), ("done", self.workspace.pk))
        self.working.refresh_from_db()
        self.assertEqual(self.working.outcome["summary"]["applications"], 79)
        page = self.client.get(url)
        self.assertNotContains(page, 'id="outcome-stale"')
        self.assertNotContains(page, "Measure again")
        with self.captureOnCommitCallbacks(execute=True):
            self.client.post(f"{url}outcome/refresh/")  # fresh already: nothing queued
        self.assertEqual(DBTaskResult.objects.count(), 1)

    def test_the_nightly_recompute_measures_every_stale_play_again(self) -> None:
        from io import StringIO

        from django.core.management import call_command

        outcome_refresh(self.early)  # fresh: left alone
        out = StringIO()
        call_command("insights", "recompute", "--workspace", "acme", stdout=out)
        self.assertIn("2 stale play outcome(s) measured again", out.getvalue())
        for play in (self.working, self.null):
            play.refresh_from_db()
            self.assertFalse(stored_outcome(play)["stale"])
        self.assertEqual(outcome_summary(self.working).verdict, "working")
        self.assertEqual(stale_outcomes_refresh(self.workspace.pk), 0)  # all fresh now
