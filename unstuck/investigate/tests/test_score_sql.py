"""The learnt stall score rendered into SQL (issue 16.3): diagnose filters and orders by it
in the database, so it must give the very integers the Python scoring gives, on both
databases, for every feature the model reads (signals, time in stage against the won deals,
the stage's and the owner's rates, age, amount, close-date moves, activities)."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

from unstuck.investigate import stall_score
from unstuck.investigate.benchmarks import benchmarks_recompute
from unstuck.investigate.models import StallScoreModel
from unstuck.investigate.selectors import iter_diagnosis
from unstuck.investigate.stall_score import METHOD_COLUMNS, Fit, StallModel
from unstuck.investigate.stall_signals import iter_signal_rows, signal_rows
from unstuck.investigate.tests.helpers import InvestigateCase, ago


def model(seed: int, *, spread: float, method: str = "learnt") -> StallModel:
    """A model with a weight on every column it can read (random but fixed), with rates for
    the given stages and owners; `spread` scales the weights (large: scores pinned at the
    clipped ends)."""
    rng = random.Random(seed)
    columns = [*METHOD_COLUMNS["learnt"], "enc:owner"] if method == "learnt" else ["rot"]
    return StallModel(
        method=method,
        fit=Fit(
            columns=columns,
            mean=[rng.uniform(-1, 2) for _ in columns],
            scale=[rng.uniform(0.3, 3) for _ in columns],
            coef=[rng.uniform(-spread, spread) for _ in columns],
            intercept=rng.uniform(-1, 1),
        ),
        stage_rates={},
        overall=0.37,
        horizon_days=90,
        snapshots=1000,
        landmarks=6,
        trained_until=ago(0).isoformat(),
        weights={},
        encodings={},
    )


class ScoreSqlTests(InvestigateCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        rng = random.Random(7)
        owners = [cls.rep_a, cls.rep_b, None]
        for i in range(24):
            days = rng.randint(1, 120)
            deal = cls.make_deal(
                owner=owners[i % 3],
                created_at=ago(days + rng.randint(5, 200)),
                amount=rng.choice([0, 1500, 20000, 350000]),
            )
            stage = cls.stages[1 + i % 3]
            close = (ago(days) + timedelta(days=rng.randint(-30, 90))).date()
            cls.move(deal, stage, ago(days), close_date=close)
            for push in range(i % 4):  # close date pushed out, amount cut on some
                cls.move(
                    deal,
                    stage,
                    ago(days * (3 - push) / 4),
                    close_date=close + timedelta(days=30 * (push + 1)),
                    amount=Decimal(900) if i % 5 == 0 else None,
                )
            for _ in range(i % 6):
                cls.touch(deal, rng.uniform(0, days))
            if i % 2:  # a champion alone, or with an economic buyer
                cls.committee(
                    deal, *(("champion",) if i % 4 == 1 else ("champion", "economic_buyer"))
                )
        benchmarks_recompute(workspace=cls.workspace)

    def fitted(self, seed: int, *, spread: float, method: str = "learnt") -> StallModel:
        m = model(seed, spread=spread, method=method)
        stages = sorted({r["stage_id"] for r in signal_rows(self.workspace)})
        m.stage_rates = {str(s): 0.2 + 0.15 * k for k, s in enumerate(stages)}
        m.encodings = {"owner": {str(self.rep_a.pk): 0.62, str(self.rep_b.pk): 0.18}}
        return m

    def python_scores(self, m: StallModel) -> dict[int, int]:
        rows = signal_rows(self.workspace)
        stall_score.apply(m, rows)
        return {r["deal_id"]: r["stall_score"] for r in rows}

    def test_the_database_gives_the_python_scores(self) -> None:
        for seed, spread in ((1, 0.8), (2, 2.0), (3, 9.0)):
            m = self.fitted(seed, spread=spread)
            expected = self.python_scores(m)
            got = {
                r["deal_id"]: r["stall_score"] for r in iter_signal_rows(self.workspace, scorer=m)
            }
            self.assertEqual(got, expected, (seed, spread))
            # Not a vacuous match: the scores spread over several values.
            self.assertGreaterEqual(len(set(expected.values())), 4 if spread < 5 else 2)

    def test_a_baseline_model_scores_in_the_database_too(self) -> None:
        m = self.fitted(4, spread=1.5, method="rotting")
        got = {r["deal_id"]: r["stall_score"] for r in iter_signal_rows(self.workspace, scorer=m)}
        self.assertEqual(got, self.python_scores(m))

    def test_rows_come_worst_first_by_the_learnt_score_and_min_score_filters_on_it(self) -> None:
        m = self.fitted(2, spread=2.0)
        rows = list(iter_signal_rows(self.workspace, scorer=m, chunk_size=5))
        keys = [(-r["stall_score"], -(r["amount_now"] or 0), r["deal_id"]) for r in rows]
        self.assertEqual(keys, sorted(keys))
        # The learnt order is not the fixed weights' order here.
        self.assertNotEqual(
            [r["deal_id"] for r in rows],
            [r["deal_id"] for r in sorted(rows, key=lambda r: -r["rule_score"])],
        )
        self.assertTrue(all(r["score_method"] == "learnt" for r in rows))
        self.assertEqual(rows[0]["signal_weights"], m.weights)
        cut = sorted(r["stall_score"] for r in rows)[len(rows) // 2]
        kept = list(iter_signal_rows(self.workspace, scorer=m, min_score=cut))
        self.assertEqual(
            [r["deal_id"] for r in kept], [r["deal_id"] for r in rows if r["stall_score"] >= cut]
        )

    def test_diagnose_orders_by_the_stored_learnt_score(self) -> None:
        m = self.fitted(1, spread=0.8)
        StallScoreModel.objects.create(
            workspace=self.workspace, method=m.method, params=m.as_json(), reason=""
        )
        expected = self.python_scores(m)
        out = list(iter_diagnosis(None, self.workspace))
        self.assertEqual({d["deal_id"]: d["stall_score"] for d in out}, expected)
        keys = [(-d["stall_score"], -d["amount"], d["deal_id"]) for d in out]
        self.assertEqual(keys, sorted(keys))
