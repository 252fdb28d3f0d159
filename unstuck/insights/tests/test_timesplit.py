"""Where the time goes: recorded actions classed once, costed by the written rule, laid out
by week, and corrected by the person's own check-in."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from unstuck.cocreate.models import Comment, Option, Session
from unstuck.core.errors import NotAllowed, UnstuckError
from unstuck.core.models import Membership
from unstuck.core.testing import PersonasTestCase
from unstuck.deals.models import Activity, StageChange
from unstuck.insights.classes import CATEGORIES, SOURCES
from unstuck.insights.models import CheckIn, InsightsRun, TimeSpent
from unstuck.insights.services import checkin_save, insights_schedule
from unstuck.insights.timesplit import (
    estimate,
    last_weeks,
    sittings,
    time_spent_recompute,
    week_start,
    weeks_for,
)
from unstuck.investigate.models import FeedbackEntry, InvestigationRequest, Obstacle
from unstuck.thinking.models import LessonCompletion

TODAY = date(2026, 3, 18)  # a Wednesday
MONDAY = date(2026, 3, 16)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


class ClassesTests(PersonasTestCase):
    def test_every_source_has_one_of_the_four_categories_and_a_unique_key(self) -> None:
        self.assertEqual({s.category for s in SOURCES}, set(CATEGORIES))
        self.assertEqual(len({s.key for s in SOURCES}), len(SOURCES))

    def test_a_sitting_runs_from_first_to_last_contribution_and_splits_on_a_long_pause(
        self,
    ) -> None:
        t0 = at(MONDAY, 9)
        rows = [(t0, 5), (t0 + timedelta(minutes=40), 3), (t0 + timedelta(hours=3), 5)]
        out = sittings(rows)
        self.assertEqual([(s, round(m), n) for s, m, n in out], [(t0, 40, 2), (rows[2][0], 5, 1)])

    def test_a_sitting_is_capped_at_three_hours(self) -> None:
        t0 = at(MONDAY, 8)
        rows = [(t0 + timedelta(minutes=50 * k), 5) for k in range(6)]  # 4 h 10 min
        self.assertEqual(sittings(rows)[0][1], 180)


class EstimateTests(PersonasTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        day = MONDAY
        deal = cls.deal_a
        Obstacle.objects.create(
            deal=deal, kind="budget", description="x", created_by=cls.manager_a,
            created_at=at(day, 10),
        )  # fmt: skip
        InvestigationRequest.objects.create(
            deal=deal, asked_by=cls.manager_a, assignee=cls.rep_a, question="Who signs?",
            due_date=day + timedelta(days=3), created_at=at(day, 10, 5),
        )  # fmt: skip
        FeedbackEntry.objects.create(
            deal=deal, kind="working", text="ok", author=cls.manager_a, created_at=at(day, 11)
        )
        LessonCompletion.objects.create(
            workspace=cls.workspace, user=cls.manager_a, bias="legacy", completed_at=at(day, 12)
        )
        # A stage move on the rep's deal (efficiency) and on the manager's own deal (admin).
        StageChange.objects.create(
            deal=deal, to_stage=cls.stages[1], changed_at=at(day, 13), changed_by=cls.manager_a
        )
        own = cls.make_deal(owner=cls.manager_a)
        StageChange.objects.create(
            deal=own, to_stage=cls.stages[1], changed_at=at(day, 14), changed_by=cls.manager_a
        )
        Activity.objects.create(
            deal=deal, kind="note", occurred_at=at(day, 15), actor=cls.manager_a
        )
        session = Session.objects.create(
            workspace=cls.workspace, deal=deal, started_by=cls.manager_a, ideal_outcome="x",
            created_at=at(day, 9),
        )  # fmt: skip
        for k in range(3):  # 9:00 start, options at 9:10, 9:20, 9:30: one 30-minute sitting
            Option.objects.create(
                session=session, title=f"o{k}", author=cls.manager_a,
                created_at=at(day, 9, 10 * (k + 1)),
            )  # fmt: skip
        Comment.objects.create(
            session=session, author=cls.rep_a, text="hm", created_at=at(day, 9, 15)
        )
        # Last week, and in another workspace's week: neither is in this week's figures.
        Obstacle.objects.create(
            deal=deal, kind="budget", description="old", created_by=cls.manager_a,
            created_at=at(day - timedelta(days=3), 10),
        )  # fmt: skip

    def test_each_action_lands_in_its_category_with_its_minutes(self) -> None:
        tally = estimate(
            self.workspace, since=at(MONDAY, 0), until=at(MONDAY + timedelta(days=7), 0)
        )
        uid = self.manager_a.pk

        def minutes(category: str) -> float:
            return tally.minutes.get((uid, MONDAY, category), 0)

        # obstacle 10 + request 5 + the session sitting 9:00-9:30 = 30
        self.assertEqual(minutes("innovation"), 45)
        self.assertEqual(minutes("coaching"), 5 + 10)  # feedback, lesson
        self.assertEqual(minutes("efficiency"), 3)  # stage move on the rep's deal
        self.assertEqual(minutes("admin"), 2 + 5)  # own stage move, note
        # The rep's comment is a 3-minute sitting of their own.
        self.assertEqual(tally.minutes[(self.rep_a.pk, MONDAY, "innovation")], 3)

    def test_a_play_applied_and_a_bench_ask_count_as_innovation(self) -> None:
        from unstuck.share.models import BenchAsk, BenchPerson, Play, PlayApplication

        play = Play.objects.create(workspace=self.workspace, title="Pilot", what_to_do="x")
        PlayApplication.objects.create(
            workspace=self.workspace, play=play, deal=self.deal_b, applied_by=self.manager_b,
            applied_at=at(MONDAY, 10), stage=self.deal_b.stage,
        )  # fmt: skip
        person = BenchPerson.objects.create(
            workspace=self.workspace, user=self.partner, function="legal", helps_with="DPAs"
        )
        BenchAsk.objects.create(
            workspace=self.workspace, deal=self.deal_b, person=person, asked_by=self.manager_b,
            what="Review", due_date=MONDAY + timedelta(days=3), created_at=at(MONDAY, 11),
        )  # fmt: skip
        tally = estimate(
            self.workspace, since=at(MONDAY, 0), until=at(MONDAY + timedelta(days=7), 0)
        )
        self.assertEqual(tally.minutes[(self.manager_b.pk, MONDAY, "innovation")], 5 + 5)

    def test_recompute_stores_weeks_and_the_check_in_replaces_the_estimate(self) -> None:
        time_spent_recompute(workspace=self.workspace, today=TODAY)
        self.assertTrue(TimeSpent.objects.filter(user=self.manager_a, week=MONDAY).exists())
        weeks = last_weeks(TODAY)
        self.assertEqual(len(weeks), 12)
        self.assertEqual(weeks[-1], MONDAY)
        week = weeks_for(self.workspace, [self.manager_a.pk], weeks)[self.manager_a.pk][-1]
        self.assertEqual(week.source, "estimate")
        self.assertAlmostEqual(sum(week.share.values()), 100, delta=0.2)
        self.assertEqual(week.share["innovation"], round(100 * 45 / (45 + 15 + 3 + 7), 1))
        membership = Membership.objects.get(user=self.manager_a, workspace=self.workspace)
        checkin_save(
            membership=membership, week=MONDAY, innovation=10, coaching=20, efficiency=60,
            admin=10, today=TODAY,
        )  # fmt: skip
        week = weeks_for(self.workspace, [self.manager_a.pk], weeks)[self.manager_a.pk][-1]
        self.assertEqual(week.source, "check-in")
        self.assertEqual(week.share["efficiency"], 60)
        self.assertEqual(week.estimated["innovation"], 45)  # the estimate is kept beside it


class CheckInTests(PersonasTestCase):
    def manager(self) -> Membership:
        return Membership.objects.get(user=self.manager_a, workspace=self.workspace)

    def test_it_refuses_parts_that_do_not_add_up_to_100(self) -> None:
        with self.assertRaisesMessage(UnstuckError, "add up to 90 %"):
            checkin_save(
                membership=self.manager(), week=MONDAY, innovation=30, coaching=20,
                efficiency=30, admin=10, today=TODAY,
            )  # fmt: skip
        self.assertFalse(CheckIn.objects.exists())

    def test_it_refuses_a_week_that_is_not_a_monday_or_too_old(self) -> None:
        for week in (MONDAY + timedelta(days=1), MONDAY - timedelta(weeks=12)):
            with self.assertRaises(UnstuckError):
                checkin_save(
                    membership=self.manager(), week=week, innovation=25, coaching=25,
                    efficiency=25, admin=25, today=TODAY,
                )  # fmt: skip
        self.assertFalse(CheckIn.objects.exists())

    def test_saving_again_replaces_the_week(self) -> None:
        for innovation in (40, 70):
            checkin_save(
                membership=self.manager(), week=MONDAY, innovation=innovation, coaching=10,
                efficiency=100 - innovation - 20, admin=10, today=TODAY,
            )  # fmt: skip
        row = CheckIn.objects.get()
        self.assertEqual((row.innovation, row.efficiency), (70, 10))

    def test_it_refuses_a_rep(self) -> None:
        rep = Membership.objects.get(user=self.rep_a, workspace=self.workspace)
        with self.assertRaises(NotAllowed):
            checkin_save(
                membership=rep, week=MONDAY, innovation=25, coaching=25, efficiency=25,
                admin=25, today=TODAY,
            )  # fmt: skip

    def test_only_managers_and_leaders_ask_for_a_recomputation(self) -> None:
        for user in (self.rep_a, self.partner):
            who = Membership.objects.get(user=user, workspace=self.workspace)
            with self.subTest(user=user.email), self.assertRaises(NotAllowed):
                insights_schedule(workspace=self.workspace, by=who)
        self.assertFalse(InsightsRun.objects.exists())
        manager = Membership.objects.get(user=self.manager_a, workspace=self.workspace)
        self.assertEqual(
            insights_schedule(workspace=self.workspace, by=manager).requested_by, self.manager_a
        )

    def test_week_start_is_the_monday_in_utc(self) -> None:
        self.assertEqual(week_start(at(date(2026, 3, 22), 23)), MONDAY)
        self.assertEqual(week_start(date(2026, 3, 23)), date(2026, 3, 23))
