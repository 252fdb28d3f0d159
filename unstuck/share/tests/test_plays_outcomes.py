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
    outcome_summary,
    play_outcome,
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
        s = outcome_summary(self.working)
        self.assertEqual((s.n, s.verdict), (80, "working"))
        self.assertIsNotNone(s.p_better)
        self.assertEqual(outcome_summary(self.early).verdict_label, "Too early to tell")

    def test_the_outcome_is_stored_until_the_applications_change(self) -> None:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        from unstuck.share.models import PlayApplication

        first = stored_outcome(self.early, refresh=True)  # the background task stores it
        with CaptureQueriesContext(connection) as q:
            again = stored_outcome(self.early)
        self.assertEqual(first, again)
        self.assertLessEqual(len(q), 2)  # the key only; nothing recomputed
        PlayApplication.objects.filter(play=self.early).first().delete()  # type: ignore[union-attr]
        self.early.refresh_from_db()
        stale_key = self.early.outcome_key
        self.assertEqual(stored_outcome(self.early)["summary"]["applications"], 3)
        self.early.refresh_from_db()
        self.assertEqual(self.early.outcome_key, stale_key)  # a read computes, stores nothing
