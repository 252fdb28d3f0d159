from __future__ import annotations

import itertools
import math
from dataclasses import asdict, fields
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from django.db import connection
from django.test import SimpleTestCase, TestCase
from django.utils import timezone

from unstuck.core.models import Workspace
from unstuck.deals.models import Deal, Stage
from unstuck.investigate.benchmarks import benchmarks_recompute
from unstuck.investigate.models import StageBenchmark, StallSettings
from unstuck.investigate.stall_signals import (
    SIGNALS,
    Signal,
    _rule_score,
    signal_rows,
    signals_for_deal,
)
from unstuck.investigate.tests.helpers import InvestigateCase, ago


def known(value: float | None) -> float:
    assert value is not None
    return value


class BenchmarkTests(InvestigateCase):
    def test_won_deals_time_in_stage_sets_the_percentiles(self) -> None:
        benchmarks_recompute(workspace=self.workspace)
        row = StageBenchmark.objects.get(workspace=self.workspace, stage=self.stages[1])
        self.assertEqual(row.won_deals, 12)
        self.assertAlmostEqual(known(row.p50_days), 10, places=3)
        self.assertAlmostEqual(known(row.p90_days), 10, places=3)
        self.assertAlmostEqual(known(row.activity_gap_p50_days), 5, places=3)

    def test_a_stage_with_few_won_deals_is_shrunk_toward_the_workspace(self) -> None:
        review = Stage.objects.create(pipeline=self.pipeline, name="Security review", order=9)
        for _ in range(2):  # two won deals that spent 40 days in a rarely used stage
            deal = self.make_deal(owner=self.rep_b, created_at=ago(150))
            self.move(deal, review, ago(100))
            self.move(deal, self.stages[4], ago(60))
            deal.status, deal.closed_at = "won", ago(60)
            deal.save()
        benchmarks_recompute(workspace=self.workspace)
        rare = StageBenchmark.objects.get(workspace=self.workspace, stage=review)
        pooled = StageBenchmark.objects.get(workspace=self.workspace, stage=None)
        self.assertEqual(rare.won_deals, 2)
        self.assertAlmostEqual(known(rare.raw_p90_days), 40, places=3)
        # (2 * 40 + 20 * pooled) / 22: mostly the workspace's figure.
        self.assertAlmostEqual(
            known(rare.p90_days), (2 * 40 + 20 * known(pooled.p90_days)) / 22, places=3
        )
        self.assertLess(known(rare.p90_days), 15)

    def test_conversion_counts_deals_that_went_on_to_a_later_stage(self) -> None:
        lost = self.make_deal(owner=self.rep_b, created_at=ago(100))
        self.move(lost, self.stages[5], ago(90))
        lost.status, lost.closed_at = "lost", ago(90)
        lost.save()
        StallSettings.objects.filter(workspace=self.workspace).update(shrinkage_strength=0)
        benchmarks_recompute(workspace=self.workspace)
        qualification = StageBenchmark.objects.get(workspace=self.workspace, stage=self.stages[0])
        self.assertEqual(qualification.entered, 13)
        self.assertAlmostEqual(known(qualification.conversion), 12 / 13)


class SignalTests(InvestigateCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        benchmarks_recompute(workspace=cls.workspace)

    def signals(self, deal: Deal) -> dict[str, str]:
        row = signals_for_deal(self.workspace, deal.pk)
        assert row is not None
        return {s.code: s.text for s in row["signals"]}

    def healthy(self, **extra: Any) -> Deal:
        extra.setdefault("created_at", ago(5))
        extra.setdefault("close_date", timezone.localdate() + timedelta(days=30))
        deal = self.make_deal(owner=self.rep_a, next_step="Demo on Tuesday", **extra)
        self.committee(deal, "champion", "economic_buyer", "user")
        champion = deal.stakeholders.get(buying_role="champion")
        self.touch(deal, 1, contact=champion.contact)
        return deal

    def test_a_healthy_deal_has_no_signals_and_score_zero(self) -> None:
        deal = self.healthy()
        row = signals_for_deal(self.workspace, deal.pk)
        assert row is not None
        self.assertEqual(row["signals"], [])
        self.assertEqual(row["stall_score"], 0)

    def test_time_in_stage_past_the_won_p90_is_stalled_with_evidence(self) -> None:
        deal = self.healthy(created_at=ago(30))
        self.move(deal, self.stages[1], ago(25))
        texts = self.signals(deal)
        self.assertIn("stage_stalled", texts)
        self.assertIn("25 days in Discovery", texts["stage_stalled"])
        self.assertIn("within 10 days", texts["stage_stalled"])

    def test_silence_beyond_the_team_cadence_is_flagged(self) -> None:
        deal = self.make_deal(owner=self.rep_a, created_at=ago(9), next_step="x")
        self.touch(deal, 8)
        texts = self.signals(deal)
        self.assertIn("no_activity", texts)
        self.assertIn("No activity for 8 days", texts["no_activity"])
        StallSettings.objects.filter(workspace=self.workspace).update(no_activity_days=10)
        self.assertNotIn("no_activity", self.signals(deal))

    def test_close_date_pushed_twice_in_the_same_stage_is_slipping(self) -> None:
        today = timezone.localdate()
        deal = self.healthy(close_date=today + timedelta(days=10))
        StageChange_rows = [today + timedelta(days=40), today + timedelta(days=80)]
        for n, day in enumerate(StageChange_rows):
            self.move(deal, self.stages[0], ago(3 - n), close_date=day)
        texts = self.signals(deal)
        self.assertIn("slipping", texts)
        self.assertIn("pushed out twice", texts["slipping"])

    def test_a_past_close_date_amount_cut_and_step_back_are_flagged(self) -> None:
        today = timezone.localdate()
        deal = self.healthy(close_date=today - timedelta(days=3))
        self.move(deal, self.stages[2], ago(4))
        self.move(deal, self.stages[1], ago(2), amount=Decimal("30000"))
        texts = self.signals(deal)
        self.assertIn("close_date_past", texts)
        self.assertIn("amount_decreased", texts)
        self.assertIn("$50,000 to $30,000", texts["amount_decreased"])
        self.assertIn("moved_back", texts)

    def test_committee_gaps_are_flagged(self) -> None:
        deal = self.make_deal(owner=self.rep_a, created_at=ago(5), stage=self.stages[1])
        self.committee(deal, "champion")
        self.touch(deal, 1)
        texts = self.signals(deal)
        self.assertIn("single_threaded", texts)
        self.assertIn("no_economic_buyer", texts)
        self.assertIn("no_next_step", texts)
        self.assertIn("champion_quiet", texts)
        self.assertIn("no recorded contact", texts["champion_quiet"])

    def test_score_grows_with_signals_and_stays_within_100(self) -> None:
        few = self.healthy(created_at=ago(30))
        self.move(few, self.stages[1], ago(25))
        many = self.make_deal(
            owner=self.rep_a, created_at=ago(90), close_date=timezone.localdate() - timedelta(5)
        )
        self.committee(many, "champion")
        self.move(many, self.stages[2], ago(60), amount=Decimal("90000"))
        self.move(many, self.stages[1], ago(50), amount=Decimal("10000"))
        rows = {r["deal_id"]: r["stall_score"] for r in signal_rows(self.workspace)}
        self.assertLess(0, rows[few.pk])
        self.assertLess(rows[few.pk], rows[many.pk])
        self.assertLessEqual(rows[many.pk], 100)

    def test_as_of_answers_from_the_history_known_then(self) -> None:
        deal = self.make_deal(owner=self.rep_a, created_at=ago(60))
        self.move(deal, self.stages[1], ago(40))
        self.move(deal, self.stages[4], ago(10))
        deal.status, deal.stage, deal.closed_at = "won", self.stages[4], ago(10)
        deal.save()
        later = self.make_deal(owner=self.rep_a, created_at=ago(5))
        then = {r["deal_id"]: r for r in signal_rows(self.workspace, as_of=ago(20))}
        self.assertIn(deal.pk, then)
        self.assertNotIn(later.pk, then)
        self.assertEqual(then[deal.pk]["stage_name"], "Discovery")
        self.assertAlmostEqual(float(then[deal.pk]["days_in_stage"]), 20, places=2)
        now = {r["deal_id"] for r in signal_rows(self.workspace)}
        self.assertNotIn(deal.pk, now)
        self.assertIn(later.pk, now)

    def test_signals_for_a_closed_deal_are_none(self) -> None:
        won = self.workspace.deals.filter(status="won").first()
        assert won is not None
        self.assertIsNone(signals_for_deal(self.workspace, won.pk))


class FactsAgreeTests(InvestigateCase):
    """Issue 14.8: facts that contradicted each other on the deal page."""

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        benchmarks_recompute(workspace=cls.workspace)

    def test_a_close_date_pulled_back_after_slipping_is_not_called_pushed_out(self) -> None:
        today = timezone.localdate()
        first = today + timedelta(days=60)
        deal = self.make_deal(owner=self.rep_a, created_at=ago(30), close_date=first)
        self.move(deal, self.stages[0], ago(30), close_date=first)
        self.move(deal, self.stages[0], ago(20), close_date=first + timedelta(days=30))
        self.move(deal, self.stages[0], ago(10), close_date=first + timedelta(days=70))
        # The demo generator does this on purpose: the last change pulls it into the past.
        self.move(deal, self.stages[0], ago(2), close_date=today - timedelta(days=5))
        row = signals_for_deal(self.workspace, deal.pk)
        assert row is not None
        texts = {s.code: s.text for s in row["signals"]}
        self.assertEqual((row["pushes"], row["pulls"]), (2, 1))
        text = texts["slipping"]
        self.assertIn("pushed out twice and pulled in once", text)
        self.assertIn("earlier than the", text)
        self.assertNotIn(" to ", text)

    def test_a_close_date_that_only_slipped_reads_from_first_to_now(self) -> None:
        today = timezone.localdate()
        deal = self.make_deal(
            owner=self.rep_a, created_at=ago(30), close_date=today + timedelta(days=5)
        )
        for n, days in enumerate((10, 40, 80)):
            self.move(deal, self.stages[0], ago(20 - n), close_date=today + timedelta(days))
        row = signals_for_deal(self.workspace, deal.pk)
        assert row is not None
        text = {s.code: s.text for s in row["signals"]}["slipping"]
        self.assertIn("pushed out 3 times: from", text)
        self.assertNotIn("pulled in", text)

    def test_header_signal_and_timeline_give_the_same_days_in_stage(self) -> None:
        from django.urls import reverse

        # 32.6 days: rounding said 33 in one place and 32 in another.
        deal = self.make_deal(owner=self.rep_a, created_at=ago(40))
        self.move(deal, self.stages[1], timezone.now() - timedelta(days=32, hours=14))
        row = signals_for_deal(self.workspace, deal.pk)
        assert row is not None
        stalled = {s.code: s.text for s in row["signals"]}["stage_stalled"]
        self.assertTrue(stalled.startswith("32 days in Discovery"), stalled)
        self.client.force_login(self.rep_a)
        response = self.client.get(
            reverse("deals:detail", kwargs={"slug": self.workspace.slug, "pk": deal.pk})
        )
        self.assertEqual(response.context["timeline"][-1].days, 32)
        self.assertContains(response, '<div class="value">32 days</div>', html=False)

    def test_the_stalled_threshold_never_contradicts_the_days_shown(self) -> None:
        # Won deals took 10 days; 10.5 days in stage is 10 whole days: not past "within 10".
        deal = self.make_deal(owner=self.rep_a, created_at=ago(20))
        self.move(deal, self.stages[1], timezone.now() - timedelta(days=10, hours=12))
        row = signals_for_deal(self.workspace, deal.pk)
        assert row is not None
        self.assertEqual(row["days_in_stage"], 10)
        self.assertNotIn("stage_stalled", {s.code for s in row["signals"]})


class SignalsNeedTheirDataTests(InvestigateCase):
    """Issue 13.2: a signal needing a kind of data is off where the workspace has none."""

    def test_no_activity_is_off_in_a_workspace_without_activities(self) -> None:
        from unstuck.deals.models import Activity

        deal = self.make_deal(owner=self.rep_a, created_at=ago(60), next_step="x")
        benchmarks_recompute(workspace=self.workspace)
        self.assertIn("no_activity", {s.code for s in self._signals(deal)})
        Activity.objects.filter(deal__workspace=self.workspace).delete()
        benchmarks_recompute(workspace=self.workspace)
        self.assertNotIn("no_activity", {s.code for s in self._signals(deal)})

    def test_silence_wording_claims_a_cadence_only_when_one_was_measured(self) -> None:
        from unstuck.deals.models import Activity

        deal = self.make_deal(owner=self.rep_a, created_at=ago(60), next_step="x")
        self.touch(deal, 30)
        benchmarks_recompute(workspace=self.workspace)
        measured = {s.code: s.text for s in self._signals(deal)}["no_activity"]
        self.assertIn("on won deals the team went no longer than", measured)
        # Activities only on open deals: there is no won-deal cadence to cite.
        Activity.objects.filter(deal__status="won").delete()
        benchmarks_recompute(workspace=self.workspace)
        default = {s.code: s.text for s in self._signals(deal)}["no_activity"]
        self.assertIn("more than the default 14 days", default)
        self.assertNotIn("team", default)

    def test_committee_signals_are_off_before_any_committee_was_recorded(self) -> None:
        deal = self.make_deal(owner=self.rep_a, created_at=ago(60), stage=self.stages[1])
        stakeholder = self.committee(deal, "user")[0]
        stakeholder.created_at = ago(5)
        stakeholder.save()
        then = {r["deal_id"]: r for r in signal_rows(self.workspace, as_of=ago(10))}
        self.assertEqual(then[deal.pk]["f_single_threaded"], 0)
        now = {r["deal_id"]: r for r in signal_rows(self.workspace)}
        self.assertEqual(now[deal.pk]["f_single_threaded"], 1)

    def _signals(self, deal: Any) -> list[Signal]:
        row = signals_for_deal(self.workspace, deal.pk)
        assert row is not None
        return list(row["signals"])


class WorkspaceStatementStageTests(InvestigateCase):
    """The whole-workspace statement learns each history row's stage order and kind from
    the workspace's stages written into it (no join, so PostgreSQL reads the history in
    index order); a deal's own statement still joins the stages. Both must agree."""

    def test_a_step_back_is_told_from_the_stage_order_as_on_the_deal_page(self) -> None:
        back = self.make_deal(owner=self.rep_a, created_at=ago(10), stage=self.stages[1])
        self.move(back, self.stages[2], ago(6))
        self.move(back, self.stages[1], ago(3))
        forward = self.make_deal(owner=self.rep_a, created_at=ago(10), stage=self.stages[1])
        self.move(forward, self.stages[2], ago(6))
        Deal.objects.filter(pk=forward.pk).update(stage=self.stages[2])

        def flags() -> dict[int, tuple[int, Any]]:
            rows = {r["deal_id"]: r for r in signal_rows(self.workspace)}
            out = {}
            for deal in (back, forward):
                (one,) = signal_rows(self.workspace, deal_id=deal.pk)
                whole = rows[deal.pk]
                self.assertEqual(
                    (one["f_moved_back"], one["moved_back_at"], one["stage_order"]),
                    (whole["f_moved_back"], whole["moved_back_at"], whole["stage_order"]),
                )
                out[deal.pk] = (whole["f_moved_back"], whole["moved_back_at"])
            return out

        seen = flags()
        self.assertEqual(seen[back.pk][0], 1)
        self.assertEqual(seen[forward.pk], (0, None))
        # The order is read when the statement runs: put the second stage after the third,
        # and the deal that went 2 -> 3 stepped back; the other one stepped back earlier.
        Stage.objects.filter(pk=self.stages[1].pk).update(order=90)
        again = flags()
        self.assertEqual(again[forward.pk][0], 1)
        self.assertEqual(again[back.pk][0], 1)
        self.assertLess(str(again[back.pk][1]), str(seen[back.pk][1]))

    def test_a_step_back_into_a_closed_stage_does_not_count(self) -> None:
        # Orders: third stage 95, a lost stage 94, fourth stage 96: the only step down is
        # into the lost stage, and a step back counts only into an open one (its kind).
        Stage.objects.filter(pk=self.stages[2].pk).update(order=95)
        Stage.objects.filter(pk=self.stages[3].pk).update(order=96)
        parked = Stage.objects.create(pipeline=self.pipeline, name="Parked", order=94, kind="lost")
        deal = self.make_deal(owner=self.rep_a, created_at=ago(10), stage=self.stages[2])
        self.move(deal, parked, ago(4))
        self.move(deal, self.stages[3], ago(2))
        Deal.objects.filter(pk=deal.pk).update(stage=self.stages[3])

        def moved_back() -> int:
            (row,) = [r for r in signal_rows(self.workspace) if r["deal_id"] == deal.pk]
            (one,) = signal_rows(self.workspace, deal_id=deal.pk)
            self.assertEqual(one["f_moved_back"], row["f_moved_back"])
            return int(row["f_moved_back"])

        self.assertEqual(moved_back(), 0)
        Stage.objects.filter(pk=parked.pk).update(kind="open")
        self.assertEqual(moved_back(), 1)

    def test_a_workspace_without_stages_has_no_rows(self) -> None:
        empty = Workspace.objects.create(name="Empty", slug="empty")
        self.assertEqual(signal_rows(empty), [])


class DealsWithoutHistoryTests(InvestigateCase):
    """A deal with no stage history (imports of one row per deal) is scored from its own
    row. On PostgreSQL the history is joined to the open deals with an inner join and the
    deals without any are joined back to its aggregate, on SQLite they are one row of NULLs
    in the history: either way such a deal has its row, beside deals with history."""

    def test_a_deal_without_history_is_scored_from_its_row(self) -> None:
        bare = self.make_deal(
            owner=self.rep_a, created_at=ago(50), stage=self.stages[2], amount=Decimal("7000")
        )
        bare.stage_changes.all().delete()
        Deal.objects.filter(pk=bare.pk).update(stage_entered_at=ago(45), close_date=None)
        moved = self.make_deal(owner=self.rep_a, created_at=ago(50))
        self.move(moved, self.stages[1], ago(20), close_date=(ago(5)).date())
        benchmarks_recompute(workspace=self.workspace)
        rows = {r["deal_id"]: r for r in signal_rows(self.workspace)}
        row = rows[bare.pk]
        self.assertEqual(row["stage_id"], self.stages[2].pk)
        self.assertEqual(row["days_in_stage"], 45)
        self.assertEqual(row["amount_now"], 7000)
        self.assertEqual(row["amount_peak"], 7000)
        self.assertEqual((row["moves"], row["pushes"], row["pulls"]), (0, 0, 0))
        self.assertIsNone(row["close_now"])
        self.assertIsNone(row["close_first"])
        self.assertEqual(row["f_stage_stalled"], 1)
        (one,) = signal_rows(self.workspace, deal_id=bare.pk)

        def rounded(r: dict[str, Any]) -> dict[str, Any]:  # two statements, two "now"s
            return {k: round(v, 2) if isinstance(v, float) else v for k, v in r.items()}

        self.assertEqual(rounded(one), rounded(row))
        # The deal with history beside it reads its history.
        self.assertEqual(rows[moved.pk]["stage_id"], self.stages[1].pk)
        self.assertEqual(rows[moved.pk]["days_in_stage"], 20)
        self.assertEqual(rows[moved.pk]["moves"], 2)
        self.assertEqual(rows[moved.pk]["f_close_date_past"], 1)

    def test_as_of_a_deal_that_closed_later_reads_its_history_then(self) -> None:
        bare = self.make_deal(owner=self.rep_a, created_at=ago(50), amount=Decimal("7000"))
        bare.stage_changes.all().delete()
        told = self.make_deal(owner=self.rep_a, created_at=ago(50), amount=Decimal("9000"))
        for deal in (bare, told):
            Deal.objects.filter(pk=deal.pk).update(
                status="lost", stage=self.stages[5], closed_at=ago(5), amount=0
            )
        then = {r["deal_id"]: r for r in signal_rows(self.workspace, as_of=ago(20))}
        # With history: what it said then, not the lost deal's amount 0. Without: the row is
        # all there is to go on, and it says the deal is in a closed stage.
        self.assertEqual(then[told.pk]["amount_now"], 9000)
        self.assertEqual(then[told.pk]["amount_peak"], 9000)
        self.assertEqual(then[told.pk]["stage_id"], self.stages[0].pk)
        self.assertNotIn(bare.pk, then)


class RuleScoreTests(TestCase):
    def test_the_score_rounds_the_exact_noisy_or_for_every_combination_of_flags(self) -> None:
        # Integer arithmetic in the statement; halves round up, as ROUND of the exact
        # product does (SQLite's floating point had put 41.5, stalled without a next step, down).
        codes = list(SIGNALS)
        sql = (
            f"SELECT {_rule_score(codes)} FROM (SELECT "
            + ", ".join(f"%s AS f_{code}" for code in codes)
            + ") q"
        )
        halves = 0
        with connection.cursor() as cursor:
            for fired in itertools.product((0, 1), repeat=len(codes)):
                exact = 100 * (1 - math.prod(
                    Fraction(1) - Fraction(SIGNALS[c][0]).limit_denominator(100) * f
                    for c, f in zip(codes, fired, strict=True)
                ))  # fmt: skip
                cursor.execute(sql, list(fired))
                (score,) = cursor.fetchone()
                self.assertEqual(int(score), math.floor(exact + Fraction(1, 2)), fired)
                halves += exact.denominator == 2
        self.assertGreater(halves, 0)  # the cases that tell rounding modes apart were seen


class SignalFormTests(SimpleTestCase):
    def test_the_stored_form_is_every_field_as_asdict_gives_it(self) -> None:
        for weight in (None, 1.7):
            signal = Signal("no_activity", "No activity", "bad", "No activity for 20 days.", weight)
            self.assertEqual(signal.as_dict(), asdict(signal))
            self.assertEqual(list(signal.as_dict()), [f.name for f in fields(Signal)])
