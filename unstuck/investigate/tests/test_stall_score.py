"""The learnt stall score (issue 13.1): direction and weight of each signal come from the
workspace's history, the learnt model is used only when it beats the single baselines on a
time back-test, and thin history falls back with the reason said."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from django.test import SimpleTestCase

from unstuck.investigate.stall_score import Snapshots, fit_method, stall_model_fit
from unstuck.investigate.stall_signals import SIGNALS

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def snapshots(n: int, *, landmarks: int = 6, seed: int = 1) -> Snapshots:
    """Deals where stalling goes with losing and moving back goes with winning (a second
    offer), and time in stage alone says little."""
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    y: list[int] = []
    where: list[int] = []
    for i in range(n):
        stalled = rng.random() < 0.3
        moved_back = rng.random() < 0.3
        logit = -0.4 + 2.2 * stalled - 1.8 * moved_back
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
        self.assertGreaterEqual(model.backtest["learnt"], max(baselines))
        self.assertEqual(model.reason, "")

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
