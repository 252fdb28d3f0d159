"""The cohort builder on a small hand-made history: exactly the right comparison deals at
exactly the right landmarks, their fates, and the refusals. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.test import TestCase

from unstuck.core.models import Workspace
from unstuck.core.testing import make_pipeline
from unstuck.deals.models import Deal, Stage, StageChange
from unstuck.insights.cohorts import (
    CohortRules,
    TreatedMoment,
    build_cohort,
    quarter_of,
    size_bands,
)
from unstuck.insights.estimator import Subject

AS_OF = datetime(2025, 6, 30, tzinfo=UTC)
# The fixture's histories were drawn on these days-in-stage bands (under 14, 14-29, ...).
FIXTURE_RULES = CohortRules(days_in_stage_edges=(14, 30, 60, 120))
SMALL, LARGE, FILLER = Decimal("10000"), Decimal("600000"), Decimal("500000")


def at(month: int, day: int, hour: int = 0) -> datetime:
    return datetime(2025, month, day, hour, tzinfo=UTC)


def key(s: Subject) -> tuple[Any, ...]:
    assert isinstance(s.stratum, tuple)
    return s.stratum


def days(a: datetime, b: datetime) -> float:
    return (b - a) / timedelta(days=1)


class HistoryCase(TestCase):
    workspace: Workspace
    stages: list[Stage]
    deals: dict[str, Deal]

    @classmethod
    def deal(
        cls,
        workspace: Workspace,
        stages: list[Stage],
        name: str,
        steps: Sequence[tuple[int, datetime] | tuple[int, datetime, Decimal]],
        amount: Decimal = SMALL,
    ) -> Deal:
        """A deal whose history is `steps`: (stage index, when[, amount then]); a step to
        the stage it is already in only changes the amount (as imports write it)."""
        last_stage = stages[steps[-1][0]]
        deal = Deal.objects.create(
            workspace=workspace,
            name=name,
            pipeline=last_stage.pipeline,
            stage=last_stage,
            status=last_stage.kind,
            amount=amount,
            created_at=steps[0][1],
            stage_entered_at=steps[-1][1],
            closed_at=steps[-1][1] if last_stage.kind != "open" else None,
            external_id=name,
        )
        previous = None
        for step in steps:
            stage = stages[step[0]]
            StageChange.objects.create(
                deal=deal,
                from_stage=previous,
                to_stage=stage,
                changed_at=step[1],
                amount=step[2] if len(step) > 2 else amount,
            )
            previous = stage
        return deal

    @classmethod
    def setUpTestData(cls) -> None:
        ws = Workspace.objects.create(name="Cohorts", slug="cohorts")
        _, stages = make_pipeline(ws)  # 0 Qualification, 1 Discovery, 2 Proposal, 3 Negotiation,
        # 4 won, 5 lost
        cls.workspace, cls.stages = ws, stages
        d = {}

        def add(name: str, steps: Sequence[Any], amount: Decimal = SMALL) -> None:
            d[name] = cls.deal(ws, stages, name, steps, amount)

        # The treated deal: Discovery from Jan 10, treated Jan 30 noon (20.5 days in: band
        # 14-29), Proposal Feb 20, won Mar 15. Before its own moment it is a comparison too,
        # on Monday Jan 27 (censored at Jan 30 noon).
        add("A", [(0, at(1, 2)), (1, at(1, 10)), (2, at(2, 20)), (4, at(3, 15))])
        # Comparable: in Discovery 14-29 days only on Monday Jan 27; Proposal Jan 30 noon,
        # lost Apr 10.
        add("B", [(1, at(1, 8)), (2, at(1, 30, 12)), (5, at(4, 10))])
        # Comparable on Monday Jan 20 only (moves on Tuesday Jan 21, 9:00).
        add("C", [(1, at(1, 1)), (2, at(1, 21, 9))])
        # Comparable until it is treated itself on Feb 8: only Monday Feb 3; censored there.
        add("G", [(1, at(1, 20)), (2, at(3, 3))])
        # Large until its amount is cut on Jan 15 (days in stage still count from Jan 2):
        # comparable on Monday Jan 20 only; Proposal Jan 25.
        add("K", [(1, at(1, 2), LARGE), (1, at(1, 15), SMALL), (2, at(1, 25))])
        # Comparable on three Mondays (Jan 20, Jan 27, Feb 3): one is drawn, weighing 3.
        add("L", [(1, at(1, 6)), (2, at(2, 20))])
        # Not comparable: large (D), another stage (E), too long in stage within the
        # quarter (F), lost before reaching 14 days (H).
        add("D", [(1, at(1, 10)), (2, at(3, 1))], LARGE)
        add("E", [(2, at(1, 10)), (3, at(3, 1))])
        add("F", [(1, at(1, 1) - timedelta(days=31)), (2, at(3, 1))])
        add("H", [(1, at(1, 10)), (5, at(1, 20))])
        for i in range(5):  # closed long ago: they only shape the size bands
            add(
                f"filler{i}",
                [(0, at(1, 1) - timedelta(days=400)), (4, at(1, 1) - timedelta(days=300))],
                FILLER,
            )
        # The same history in another workspace is never a comparison.
        other = Workspace.objects.create(name="Other", slug="other")
        _, other_stages = make_pipeline(other)
        cls.deal(other, other_stages, "B-elsewhere", [(1, at(1, 8)), (2, at(1, 30, 12))])
        cls.deals = d

    def build(self, **kw: object) -> tuple[list[Subject], list[Subject], list[TreatedMoment]]:
        args: dict[str, object] = {
            "workspace": self.workspace,
            "treated": [TreatedMoment(deal_id=self.deals["A"].pk, at=at(1, 30, 12))],
            "exclude": [(self.deals["G"].pk, at(2, 8))],
            "as_of": AS_OF,
            "rules": FIXTURE_RULES,
        }
        args.update(kw)
        cohort = build_cohort(**args)  # type: ignore[arg-type]
        return cohort.treated, cohort.comparison, cohort.skipped


class SizeBandTests(HistoryCase):
    def test_size_bands_are_the_workspace_amount_quartiles(self) -> None:
        bands = size_bands(self.workspace)
        # 9 deals of 10k, 5 of 500k, 1 of 600k: quartiles 10k, 10k, 500k.
        self.assertEqual(bands.edges, (10000.0, 500000.0))
        self.assertEqual([bands.band(a) for a in (5000, 10000, 499999, 600000)], [0, 1, 1, 2])
        self.assertEqual(bands.labels()[1], "10,000 to under 500,000")


class CohortTests(HistoryCase):
    def test_it_picks_exactly_the_comparable_deals_at_their_landmarks(self) -> None:
        treated, comparison, skipped = self.build()
        self.assertEqual(skipped, [])
        name = {deal.pk: key for key, deal in self.deals.items()}
        picked = {name[s.deal_id]: s for s in comparison}
        self.assertEqual(
            sorted((key, s.index_at, s.weight) for key, s in picked.items() if key != "L"),
            [
                ("A", at(1, 27), 1.0),
                ("B", at(1, 27), 1.0),
                ("C", at(1, 20), 1.0),
                ("G", at(2, 3), 1.0),
                ("K", at(1, 20), 1.0),
            ],
        )
        self.assertIn(picked["L"].index_at, {at(1, 20), at(1, 27), at(2, 3)})
        self.assertEqual(picked["L"].weight, 3.0)
        self.assertEqual(len(comparison), 6)
        stage = self.stages[1].pk
        self.assertEqual({s.stratum for s in comparison}, {("2025Q1", stage, 1, 1)})
        self.assertEqual(treated[0].stratum, ("2025Q1", stage, 1, 1))

    def test_the_clock_starts_at_the_moment_and_follows_each_fate(self) -> None:
        treated, comparison, _ = self.build()
        a = treated[0]
        start = at(1, 30, 12)
        self.assertEqual(a.index_at, start)
        self.assertEqual(a.outcome, "won")
        self.assertAlmostEqual(a.moved_after_days or 0, days(start, at(2, 20)))
        self.assertAlmostEqual(a.closed_after_days or 0, days(start, at(3, 15)))
        self.assertAlmostEqual(a.follow_up_days, days(start, AS_OF))
        by = {s.deal_id: s for s in comparison}
        b = by[self.deals["B"].pk]
        self.assertEqual(b.outcome, "lost")
        self.assertAlmostEqual(b.moved_after_days or 0, 3.5)
        self.assertAlmostEqual(b.closed_after_days or 0, days(at(1, 27), at(4, 10)))
        c = by[self.deals["C"].pk]
        self.assertAlmostEqual(c.moved_after_days or 0, 1 + 9 / 24)
        self.assertEqual(c.outcome, "open")
        self.assertIsNone(c.closed_after_days)

    def test_a_comparison_deal_treated_later_is_followed_to_the_end_and_marked(self) -> None:
        # Intention to treat: the result is followed past its own later treatment (its
        # speed is censored there by the estimator, from treated_after_days).
        _, comparison, _ = self.build()
        g = next(s for s in comparison if s.deal_id == self.deals["G"].pk)
        self.assertEqual(g.treated_after_days, 5.0)  # Feb 3 to its own treatment on Feb 8
        self.assertEqual(g.follow_up_days, days(at(2, 3), AS_OF))
        self.assertAlmostEqual(g.moved_after_days or 0, 28.0)  # its move on Mar 3
        a = next(s for s in comparison if s.deal_id == self.deals["A"].pk)
        self.assertEqual(a.treated_after_days, 3.5)  # Jan 27 to its own treatment, Jan 30 noon
        untreated = [s for s in comparison if s.deal_id not in {self.deals[k].pk for k in "AGB"}]
        self.assertTrue(untreated)
        self.assertTrue(all(s.treated_after_days is None for s in untreated))

    def test_without_the_exclusion_it_follows_the_deal_to_the_end(self) -> None:
        _, comparison, _ = self.build(exclude=[])
        g = [s for s in comparison if s.deal_id == self.deals["G"].pk]
        self.assertEqual(len(g), 1)
        self.assertAlmostEqual(g[0].moved_after_days or 0, days(g[0].index_at, at(3, 3)))

    def test_the_treated_deal_is_a_comparison_only_before_its_own_moment(self) -> None:
        late = TreatedMoment(deal_id=self.deals["B"].pk, at=at(1, 29))
        treated, comparison, _ = self.build(treated=[late])
        self.assertEqual(key(treated[0])[3], 1)  # 21 days in Discovery
        b = [s for s in comparison if s.deal_id == self.deals["B"].pk]
        self.assertEqual([s.index_at for s in b], [at(1, 27)])
        self.assertEqual(b[0].treated_after_days, 2.0)

    def test_a_moment_when_the_deal_was_not_open_is_skipped(self) -> None:
        closed = TreatedMoment(deal_id=self.deals["H"].pk, at=at(2, 1))
        before = TreatedMoment(deal_id=self.deals["B"].pk, at=at(1, 1))
        elsewhere = TreatedMoment(deal_id=Deal.objects.get(name="B-elsewhere").pk, at=at(1, 20))
        treated, _, skipped = self.build(
            treated=[closed, TreatedMoment(self.deals["A"].pk, at(1, 30, 12)), before, elsewhere]
        )
        self.assertEqual(len(treated), 1)
        self.assertEqual(skipped, [closed, before, elsewhere])
        treated, comparison, skipped = self.build(treated=[closed])
        self.assertEqual((treated, comparison, skipped), ([], [], [closed]))

    def test_the_cap_keeps_at_most_so_many_comparisons_per_treated_moment(self) -> None:
        _, comparison, _ = self.build(rules=replace(FIXTURE_RULES, comparisons_per_treated=2))
        self.assertEqual(len(comparison), 2)
        full = {s.deal_id for s in self.build()[1]}
        self.assertLessEqual({s.deal_id for s in comparison}, full)

    def test_extra_stratum_parts_see_every_pair_once_and_split_the_strata(self) -> None:
        calls: list[int] = []
        odd = {self.deals["B"].pk, self.deals["C"].pk}

        def band(pairs: Sequence[tuple[int, datetime]]) -> list[str]:
            calls.append(len(pairs))
            return ["high" if deal_id in odd else "low" for deal_id, _ in pairs]

        treated, comparison, _ = self.build(extra_parts=[band])
        self.assertEqual(calls, [7])
        self.assertEqual(key(treated[0])[-1], "low")
        self.assertEqual({s.deal_id: key(s)[-1] for s in comparison}[self.deals["B"].pk], "high")

    def test_given_extra_values_are_used_for_the_treated(self) -> None:
        moment = TreatedMoment(self.deals["A"].pk, at(1, 30, 12), extra=("given",))
        treated, _, _ = self.build(treated=[moment], extra_parts=[lambda p: ["x"] * len(p)])
        self.assertEqual(key(treated[0])[-1], "given")

    def test_it_refuses_naive_or_future_moments_and_wrong_extras(self) -> None:
        a = self.deals["A"].pk
        with self.assertRaisesMessage(ValueError, "treated[0] (deal"):
            self.build(treated=[TreatedMoment(a, datetime(2025, 1, 30))])
        with self.assertRaisesMessage(ValueError, "after as_of"):
            self.build(treated=[TreatedMoment(a, at(7, 1))])
        with self.assertRaisesMessage(ValueError, "1 extra values for 0 extra parts"):
            self.build(treated=[TreatedMoment(a, at(1, 30), extra=("x",))])
        with self.assertRaisesMessage(ValueError, "returned 1 values for 7"):
            self.build(extra_parts=[lambda p: ["x"]])

    def test_quarters_are_calendar_quarters_in_utc(self) -> None:
        self.assertEqual(quarter_of(at(3, 31, 23)), (2025, 1))
        self.assertEqual(quarter_of(at(4, 1)), (2025, 2))
