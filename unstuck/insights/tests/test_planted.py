"""End to end, database to verdict: a generated stage history with a planted effect for the
treated deals is recovered by the cohort builder and the estimator, and a history without
one is not called a winner."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.test import TestCase

from unstuck.core.models import Workspace
from unstuck.core.testing import make_pipeline
from unstuck.deals.models import Deal, Stage, StageChange
from unstuck.insights.cohorts import TreatedMoment, build_cohort
from unstuck.insights.estimator import Comparison, compare

START = datetime(2025, 1, 1, tzinfo=UTC)
AS_OF = datetime(2025, 10, 1, tzinfo=UTC)
FLAG_AFTER_DAYS = 15  # a deal still in Discovery 15 days after entering it is "flagged"


def generate(
    slug: str, *, seed: int, speed: float, win_odds: float, deals: int = 500
) -> tuple[Workspace, list[TreatedMoment]]:
    """Deals enter Discovery through the first quarter and wait an exponential time (mean
    30 days) before Proposal; then they close (mean 20 days later), half of them won. One
    in five flagged deals is treated at its flag: from then on it moves `speed` times as
    fast and its odds of winning are multiplied by `win_odds`. Comparable deals are the
    other deals in Discovery (waiting times are memoryless, so the clock at a landmark is
    as fair as the clock at the flag)."""
    rng = random.Random(seed)
    ws = Workspace.objects.create(name=slug, slug=slug)
    _, stages = make_pipeline(ws)
    discovery, proposal, won, lost = stages[1], stages[2], stages[4], stages[5]
    plans = []
    treated_at: list[tuple[int, datetime]] = []
    for i in range(deals):
        entered = START + timedelta(days=rng.uniform(0, 85))
        wait = rng.expovariate(1 / 30)
        flag = entered + timedelta(days=FLAG_AFTER_DAYS)
        treat = wait > FLAG_AFTER_DAYS and rng.random() < 0.2
        odds = 1.0
        if treat:
            wait = FLAG_AFTER_DAYS + rng.expovariate(speed / 30)
            odds = win_odds
            treated_at.append((i, flag))
        moved = entered + timedelta(days=wait)
        closed = moved + timedelta(days=rng.expovariate(1 / 20))
        is_won = rng.random() < odds / (1 + odds)
        steps: list[tuple[Stage, datetime]] = [(discovery, entered)]
        if moved < AS_OF:
            steps.append((proposal, moved))
            if closed < AS_OF:
                steps.append((won if is_won else lost, closed))
        plans.append(steps)
    created = Deal.objects.bulk_create(
        Deal(
            workspace=ws,
            name=f"{slug} {i}",
            pipeline=steps[-1][0].pipeline,
            stage=steps[-1][0],
            status=steps[-1][0].kind,
            amount=Decimal("20000"),
            created_at=steps[0][1],
            stage_entered_at=steps[-1][1],
            closed_at=steps[-1][1] if steps[-1][0].kind != "open" else None,
            external_id=f"{slug}-{i}",
        )
        for i, steps in enumerate(plans)
    )
    StageChange.objects.bulk_create(
        StageChange(
            deal=deal,
            from_stage=steps[k - 1][0] if k else None,
            to_stage=stage,
            changed_at=when,
            amount=deal.amount,
        )
        for deal, steps in zip(created, plans, strict=True)
        for k, (stage, when) in enumerate(steps)
    )
    return ws, [TreatedMoment(deal_id=created[i].pk, at=when) for i, when in treated_at]


def measure(ws: Workspace, treated: list[TreatedMoment]) -> Comparison:
    cohort = build_cohort(workspace=ws, treated=treated, as_of=AS_OF)
    assert not cohort.skipped
    return compare(cohort.treated, cohort.comparison, horizon_days=120, noun="flagged deals")


class PlantedHistoryTests(TestCase):
    def test_a_planted_effect_in_the_history_is_recovered(self) -> None:
        ws, treated = generate("planted", seed=11, speed=1.8, win_odds=3.0)
        result = measure(ws, treated)
        assert result.speed is not None and result.win is not None
        self.assertEqual(result.verdict, "working")
        self.assertGreaterEqual(result.treated.n, 40)
        self.assertGreater(result.comparison.deals, 3 * result.treated.n)
        self.assertAlmostEqual(result.speed.estimate, 1.8, delta=0.6)
        self.assertGreater(result.win.p_better, 0.95)

    def test_a_history_without_effect_is_not_called_a_winner(self) -> None:
        ws, treated = generate("null", seed=12, speed=1.0, win_odds=1.0)
        result = measure(ws, treated)
        assert result.speed is not None and result.win is not None
        self.assertNotEqual(result.verdict, "working")
        self.assertAlmostEqual(result.speed.estimate, 1.0, delta=0.35)
        self.assertLess(result.speed.interval.low, 1.0)
