"""The learnt stall score (issue 13.1): direction and weight of each signal come from the
workspace's history, the learnt model is used only when it beats the single baselines on a
time back-test, and thin history falls back with the reason said."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from django.test import SimpleTestCase

from unstuck.investigate.stall_score import Snapshots, fit_method, stall_model_fit
from unstuck.investigate.stall_signals import SIGNALS

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def snapshots(n: int, *, landmarks: int = 6, seed: int = 1, flat: bool = False) -> Snapshots:
    """Deals where stalling goes with losing and moving back goes with winning (a second
    offer), and time in stage alone says little; `flat`: nothing says anything (the outcome
    is a coin toss, as on the Maven export)."""
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    y: list[int] = []
    where: list[int] = []
    for i in range(n):
        stalled = rng.random() < 0.3
        moved_back = rng.random() < 0.3
        logit = -0.4 if flat else -0.4 + 2.2 * stalled - 1.8 * moved_back
        not_won = rng.random() < 1 / (1 + np.exp(-logit))
        row: dict[str, Any] = {f"f_{code}": 0 for code in SIGNALS}
        row.update(
            deal_id=i,
            owner_id=i % 5,
            stage_id=1 + i % 3,
            days_in_stage=rng.randint(0, 60),
            p50_days=20.0,
            age_days=rng.randint(10, 200),
            amount_now=rng.randint(1, 100) * 1000,
            pushes=0,
            pulls=0,
            moves=rng.randint(1, 4),
            n_act_30=rng.randint(0, 5),
            stall_score=0,
        )
        row["f_stage_stalled"] = int(stalled)
        row["f_moved_back"] = int(moved_back)
        rows.append(row)
        y.append(int(not_won))
        where.append(i * landmarks // n)
    marks = [NOW - timedelta(days=14 * (landmarks - k)) for k in range(landmarks)]
    return Snapshots(rows, np.array(y), np.array(where), marks, 90)


class LearntScoreTests(SimpleTestCase):
    def test_a_signal_pointing_the_wrong_way_stops_counting(self) -> None:
        model = fit_method(snapshots(3000), "learnt", known_at=NOW)
        self.assertEqual(model.weights["moved_back"], 1.0)
        self.assertGreater(model.weights["stage_stalled"], 2.0)
        self.assertNotIn("f_moved_back", model.fit.columns)

    def test_the_learnt_model_is_used_when_it_beats_every_baseline_on_the_back_test(self) -> None:
        model = stall_model_fit(None, known_at=NOW, snaps=snapshots(3000))  # type: ignore[arg-type]
        self.assertEqual(model.method, "learnt", model.reason)
        baselines = [model.backtest[m] for m in ("stage_rate", "days_in_stage", "rotting")]
        self.assertGreater(model.backtest["learnt"], max(baselines) + 0.1)
        # Better beyond noise: the whole interval on the difference is above zero.
        self.assertGreater(model.backtest["vs_best_low"], 0.05)
        self.assertEqual(model.reason, "")

    def test_on_flat_history_the_best_baseline_scores_not_the_learnt_model(self) -> None:
        # Nothing predicts the outcome: the learnt model's edge on the back-test, if any, is
        # noise, so the chooser keeps a baseline and says why (whatever the seed).
        for seed in (1, 2, 3, 4):
            snaps = snapshots(3000, seed=seed, flat=True)
            model = stall_model_fit(None, known_at=NOW, snaps=snaps)  # type: ignore[arg-type]
            self.assertIn(model.method, ("stage_rate", "days_in_stage", "rotting"), seed)
            self.assertLessEqual(model.backtest["vs_best_low"], 0.0)
            self.assertIn("not better than", model.reason)
            self.assertIn("beyond noise", model.reason)
            self.assertEqual(model.weights, {})  # no learnt weights shown beside the signals

    def test_the_chooser_follows_the_interval_not_the_point_estimate(self) -> None:
        from unstuck.investigate.stall_score import choose

        base = {"stage_rate": 0.60, "days_in_stage": 0.62, "rotting": 0.55}
        ahead_by_noise = {**base, "learnt": 0.64, "vs_best_low": -0.01, "vs_best_high": 0.05}
        self.assertEqual(choose(ahead_by_noise)[0], "days_in_stage")
        clearly_ahead = {**base, "learnt": 0.70, "vs_best_low": 0.03, "vs_best_high": 0.13}
        self.assertEqual(choose(clearly_ahead), ("learnt", ""))

    def test_the_weighted_auc_is_the_auc_of_the_rows_repeated(self) -> None:
        from sklearn.metrics import roc_auc_score

        from unstuck.investigate.stall_score import weighted_auc

        rng = np.random.default_rng(3)
        y = rng.integers(0, 2, 200)
        score = np.round(rng.random(200) + 0.3 * y, 1)  # ties on purpose
        self.assertAlmostEqual(weighted_auc(y, score, np.ones(200)), roc_auc_score(y, score))
        w = rng.integers(0, 4, 200)
        repeated = roc_auc_score(np.repeat(y, w), np.repeat(score, w))
        self.assertAlmostEqual(weighted_auc(y, score, w.astype(float)), repeated)

    def test_stalled_deals_score_higher_and_a_typical_deal_scores_about_20(self) -> None:
        snaps = snapshots(3000)
        model = fit_method(snaps, "learnt", known_at=NOW)
        scores = np.array(model.scores(snaps.rows))
        stalled = np.array([r["f_stage_stalled"] for r in snaps.rows]) == 1
        self.assertGreater(scores[stalled].mean(), scores[~stalled].mean() + 15)
        self.assertTrue(10 <= float(np.median(scores)) <= 30, np.median(scores))

    def test_thin_history_falls_back_to_the_fixed_weights_and_says_why(self) -> None:
        model = stall_model_fit(None, known_at=NOW, snaps=snapshots(120))  # type: ignore[arg-type]
        self.assertEqual(model.method, "rules")
        self.assertIn("Too little history", model.reason)

    def test_the_stored_form_round_trips(self) -> None:
        from unstuck.investigate.stall_score import StallModel

        snaps = snapshots(1500)
        model = fit_method(snaps, "learnt", known_at=NOW)
        again = StallModel.from_json(model.as_json())
        self.assertEqual(again.scores(snaps.rows[:50]), model.scores(snaps.rows[:50]))

    def test_the_back_test_gives_the_figures_it_gave_before_its_scores_were_sorted_once(
        self,
    ) -> None:
        # Pinned from the back-test as it was before it sorted each fold's scores once for
        # all its resamples (and left out the AUCs the resamples do not compare), 2026-12-01.
        from unstuck.investigate.stall_score import time_backtest

        self.assertEqual(
            time_backtest(snapshots(2000)),
            {"learnt": 0.6931, "stage_rate": 0.4998, "days_in_stage": 0.4655,
             "rotting": 0.4689, "vs_best_low": 0.1652, "vs_best_high": 0.2208, "folds": 3.0},
        )  # fmt: skip
        self.assertEqual(
            time_backtest(snapshots(3000, seed=4, flat=True)),
            {"learnt": 0.4978, "stage_rate": 0.4965, "days_in_stage": 0.5056,
             "rotting": 0.5197, "vs_best_low": -0.0465, "vs_best_high": 0.005, "folds": 3.0},
        )  # fmt: skip

    def test_a_column_is_read_as_each_value_would_be(self) -> None:
        from decimal import Decimal

        from unstuck.investigate.stall_score import _f, _floats

        odd = [None, float("nan"), Decimal("12.5"), "7", -3, 0, 2.5, True, float("inf"), -0.0]
        for values in (odd, [*odd, "abc"], [1, 2, 3]):
            for default in (0.0, math.nan):
                want = np.array([_f(v, default) for v in values])
                got = _floats(values, default)
                np.testing.assert_array_equal(got, want)
                self.assertEqual(np.signbit(got).tolist(), np.signbit(want).tolist())
