"""The outcome estimator on synthetic subjects: planted effects recovered at the nominal
rate, nulls not called winners, confounding undone by the strata, censoring, minimums,
determinism and clear errors. Simulation counts are small but fixed-seed, so each figure is
reproducible and each bound would fail for a broken estimator."""

from __future__ import annotations

import json
import math
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from django.test import SimpleTestCase
from scipy.stats import CensoredData, ecdf

from unstuck.insights.estimator import Subject, compare
from unstuck.insights.estimator.simulation import Scenario, simulate, truth
from unstuck.insights.estimator.survival import SpeedData, _crossing, _Score, kaplan_meier

T0 = datetime(2025, 1, 6, tzinfo=UTC)
CONFOUNDED = Scenario(treated_mix=(0.6, 0.3, 0.1), comparison_mix=(0.15, 0.35, 0.5))


def subject(deal_id: int, outcome: str = "open", **kw: object) -> Subject:
    fields: dict[str, object] = {
        "deal_id": deal_id,
        "index_at": T0,
        "stratum": "s",
        "outcome": outcome,
        "follow_up_days": 200.0,
    }
    fields.update(kw)
    return Subject(**fields)  # type: ignore[arg-type]


class KaplanMeierTests(SimpleTestCase):
    def test_it_matches_scipy_ecdf_with_unit_weights(self) -> None:
        rng = np.random.default_rng(3)
        time = np.round(rng.exponential(30, 300), 1)  # rounded, so there are ties
        event = rng.random(300) < 0.7
        km = kaplan_meier(time, event, np.ones(300))
        reference = ecdf(CensoredData(uncensored=time[event], right=time[~event])).sf
        np.testing.assert_allclose(km.survival, reference.evaluate(km.times), atol=1e-12)

    def test_integer_weights_equal_repeated_rows(self) -> None:
        rng = np.random.default_rng(4)
        time = np.round(rng.exponential(20, 80), 1)
        event = rng.random(80) < 0.6
        weight = rng.integers(1, 4, 80)
        km = kaplan_meier(time, event, weight.astype(float))
        repeated = kaplan_meier(
            np.repeat(time, weight), np.repeat(event, weight), np.ones(weight.sum())
        )
        np.testing.assert_allclose(km.survival, repeated.survival)
        self.assertEqual(repeated.at_risk[0], weight.sum())


def naive_u(data: SpeedData, theta: float, w: np.ndarray) -> float:
    """U(θ) straight from its definition: for each move, (mover treated? 1 : 0) minus the
    treated share of the weight of its stratum still waiting (wait >= the move's), treated
    waits stretched by θ."""
    time = np.where(data.treated, data.exposure * theta, data.exposure)
    total = 0.0
    for i in np.flatnonzero(data.event):
        waiting = (data.stratum == data.stratum[i]) & (time >= time[i])
        at_risk = w[waiting].sum()
        share = w[waiting & data.treated].sum() / at_risk if at_risk > 0 else 0.0
        total += w[i] * (float(data.treated[i]) - share)
    return total


def random_speed_data(rng: np.random.Generator, n: int, whole_days: bool) -> SpeedData:
    waits = rng.exponential(30, n)
    return SpeedData(
        cluster=np.unique(rng.integers(0, max(1, n // 2), n), return_inverse=True)[1],
        stratum=np.unique(rng.integers(0, 6, n), return_inverse=True)[1],
        treated=rng.random(n) < 0.3,
        weight=rng.random(n) + 0.5,
        event=rng.random(n) < 0.6,
        exposure=np.round(waits) if whole_days else waits,
    )


class SpeedScoreTests(SimpleTestCase):
    """The fast log-rank estimating function behind the speed ratio and its bootstrap."""

    def test_it_equals_the_definition_with_ties_weights_and_resamples(self) -> None:
        rng = np.random.default_rng(7)
        for trial in range(12):
            data = random_speed_data(rng, int(rng.integers(5, 120)), whole_days=trial % 2 == 0)
            multiplicity = rng.integers(0, 3, (int(data.cluster.max()) + 1, 4)).astype(float)
            w = data._att(multiplicity[data.cluster])
            score = _Score(data, w)
            for theta in (0.4, 1.0, 2.5):
                fast = score.u(theta)
                for col in range(w.shape[1]):
                    self.assertAlmostEqual(fast[col], naive_u(data, theta, w[:, col]), places=9)
                # A subset of the replicates gives those replicates' values.
                np.testing.assert_allclose(score.u(theta, np.array([3, 1])), fast[[3, 1]])

    def test_the_binary_search_finds_the_first_grid_point_at_or_below_zero(self) -> None:
        rng = np.random.default_rng(11)
        data = random_speed_data(rng, 150, whole_days=True)
        multiplicity = rng.integers(0, 3, (int(data.cluster.max()) + 1, 40)).astype(float)
        score = _Score(data, data._att(multiplicity[data.cluster]))
        logs = np.linspace(-1.6, 1.6, 33)
        grid = np.stack([score.u(math.exp(x)) for x in logs])  # every point, every column
        found = _crossing(logs, score)
        for col in range(grid.shape[1]):
            u = grid[:, col]
            if u[0] <= 0:
                expected = logs[0]
            elif u[-1] > 0:
                expected = logs[-1]
            else:
                k = int(np.argmax(u <= 0))
                expected = logs[k - 1] + (logs[k] - logs[k - 1]) * u[k - 1] / (u[k - 1] - u[k])
            self.assertAlmostEqual(math.log(found[col]), expected, places=9)


class CensoringTests(SimpleTestCase):
    """Open deals are censored at the end of follow-up; a deal lost before it moved on is
    censored at the loss; winning is moving on."""

    def arms(self) -> tuple[list[Subject], list[Subject]]:
        treated = [
            subject(1, moved_after_days=10.0),
            subject(2, outcome="lost", closed_after_days=5.0),  # censored at day 5
            subject(3, outcome="won", closed_after_days=20.0),  # the win is the move, day 20
            subject(4, follow_up_days=15.0),  # open, censored at day 15
        ]
        comparison = [subject(100 + i, moved_after_days=float(5 + i)) for i in range(4)]
        return treated, comparison

    def test_curve_steps_at_moves_only(self) -> None:
        treated, comparison = self.arms()
        result = compare(treated, comparison, min_treated=1, min_comparison=1, replicates=200)
        curve = result.treated.curve
        # At day 10, 3 of 4 at risk (deal 2 left at day 5): S = 1 - 1/3. At day 20 one of one
        # (deal 4 censored at 15): S = 0.
        self.assertEqual([p.day for p in curve], [0, 10, 20])
        self.assertAlmostEqual(curve[1].survival, 2 / 3)
        self.assertEqual(curve[1].at_risk, 3)
        self.assertAlmostEqual(curve[2].survival, 0.0)
        self.assertEqual(curve[2].at_risk, 1)
        self.assertEqual((result.treated.won, result.treated.lost, result.treated.open), (1, 1, 2))
        self.assertEqual(result.treated.moved, 2)

    def test_a_comparison_treated_later_waits_until_then_but_keeps_its_result(self) -> None:
        treated = [subject(i, outcome="won", closed_after_days=8.0) for i in range(10)]
        # Comparison deals taken up on day 4: their move on day 6 and their win on day 30
        # came after; the speed stops counting them at day 4, the win rate keeps the win.
        later = [
            subject(
                100 + i,
                outcome="won",
                closed_after_days=30.0,
                moved_after_days=6.0,
                treated_after_days=4.0,
            )
            for i in range(10)
        ]
        never = [subject(200 + i, outcome="lost", closed_after_days=40.0) for i in range(10)]
        result = compare(treated, later + never, replicates=200)
        self.assertEqual(result.comparison.moved, 0)
        first = result.comparison.curve[0]
        self.assertEqual((first.day, first.survival), (0, 1.0))
        rate = result.comparison.win_rate
        assert rate is not None
        self.assertEqual((rate.n, rate.won), (20, 10))

    def test_treated_after_days_must_lie_inside_the_follow_up(self) -> None:
        bad = subject(100, treated_after_days=250.0)
        with self.assertRaisesMessage(ValueError, "comparison[0] (deal 100): treated_after_days"):
            compare([subject(1)], [bad], min_treated=1, min_comparison=1, replicates=200)

    def test_win_rate_counts_only_results_known_at_the_horizon(self) -> None:
        treated = [subject(i, outcome="won", closed_after_days=30.0) for i in range(6)]
        treated += [subject(10 + i, follow_up_days=200.0) for i in range(6)]  # open past 180
        treated += [subject(20 + i, follow_up_days=40.0) for i in range(5)]  # too recent
        comparison = [subject(100 + i, outcome="lost", closed_after_days=9.0) for i in range(12)]
        result = compare(treated, comparison, horizon_days=180, replicates=200)
        rate = result.treated.win_rate
        assert rate is not None
        self.assertEqual((rate.n, rate.won), (12, 6))
        self.assertAlmostEqual(rate.mean, (6 + 0.5) / (12 + 1))


class PlantedEffectTests(SimpleTestCase):
    def test_a_planted_effect_is_covered_at_about_the_nominal_rate(self) -> None:
        sc = replace(CONFOUNDED, speed=1.8, win_odds=2.0, loss_rate=1 / 150)
        true = truth(sc, horizon_days=180)
        self.assertAlmostEqual(true.speed_ratio, 1.8, delta=0.02)
        sims = 60
        speed_hits = win_hits = working = 0
        for seed in range(sims):
            treated, comparison = simulate(sc, n_treated=40, n_comparison=200, seed=seed)
            result = compare(treated, comparison, replicates=300, seed=seed)
            assert result.speed is not None and result.win is not None
            speed_hits += (
                result.speed.interval.low <= true.speed_ratio <= result.speed.interval.high
            )
            win_hits += result.win.interval.low <= true.win_difference <= result.win.interval.high
            working += result.verdict == "working"
        # Nominal 90%: 54 of 60 expected; 47 is 2.6 standard errors below.
        self.assertGreaterEqual(speed_hits, 47)
        self.assertGreaterEqual(win_hits, 47)
        self.assertLessEqual(max(speed_hits, win_hits), 60)
        self.assertGreaterEqual(working, 50)

    def test_one_data_set_with_a_planted_effect_is_called_working(self) -> None:
        sc = replace(CONFOUNDED, speed=1.8, win_odds=2.0, loss_rate=1 / 150)
        treated, comparison = simulate(sc, n_treated=40, n_comparison=200, seed=1)
        result = compare(treated, comparison, noun="applications")
        # Whether this one interval covers 1.8 is a 90% event; the rate is the test above.
        self.assertEqual(result.verdict, "working")
        self.assertTrue(result.reason.startswith("working: won "))

    def test_no_effect_is_rarely_called_working(self) -> None:
        sc = replace(CONFOUNDED, loss_rate=1 / 150)
        sims = 80
        working = sum(
            compare(
                *simulate(sc, n_treated=40, n_comparison=200, seed=1000 + s), replicates=300
            ).verdict
            == "working"
            for s in range(sims)
        )
        # Nominal: at most 10% (8 of 80); a confounded crude comparison would call most.
        self.assertLessEqual(working, 12)


class ConfoundingTests(SimpleTestCase):
    def test_simpsons_paradox_misleads_the_crude_comparison_not_the_strata(self) -> None:
        # No effect within either stratum: in each, both arms have the same win rate (70% in
        # the easy one, 20% in the hard one) and the same spread of times to the next stage
        # (quantiles of one exponential). But treated deals sit mostly in the easy stratum.
        def arm(n_easy: int, n_hard: int, first_id: int) -> list[Subject]:
            out: list[Subject] = []
            for stratum, n, win_share, mean_days in (
                ("easy", n_easy, 0.7, 10.0),
                ("hard", n_hard, 0.2, 60.0),
            ):
                for k in range(n):
                    won = k % 10 < win_share * 10
                    moved = -mean_days * math.log(1 - (k + 0.5) / n)
                    out.append(
                        subject(
                            first_id + len(out),
                            outcome="won" if won else "lost",
                            closed_after_days=100.0,
                            follow_up_days=200.0,
                            moved_after_days=moved if moved < 190 else None,
                            stratum=stratum,
                        )
                    )
            return out

        treated, comparison = arm(80, 20, 1), arm(40, 160, 1000)
        crude = compare(
            [replace(s, stratum=0) for s in treated], [replace(s, stratum=0) for s in comparison]
        )
        stratified = compare(treated, comparison)
        assert crude.win is not None and stratified.win is not None and stratified.speed
        self.assertEqual(crude.verdict, "working")
        self.assertGreater(crude.win.interval.low, 0.15)  # 60% vs 30% won, crudely
        self.assertEqual(stratified.verdict, "no_evidence")
        self.assertAlmostEqual(stratified.win.estimate, 0.0, delta=0.02)
        self.assertLess(stratified.win.interval.low, 0)
        self.assertGreater(stratified.win.interval.high, 0)
        self.assertAlmostEqual(stratified.speed.estimate, 1.0, delta=0.1)
        self.assertLess(stratified.speed.interval.low, 1)
        self.assertGreater(stratified.speed.interval.high, 1)


class MinimumAndReportingTests(SimpleTestCase):
    def comparison(self, n: int = 30) -> list[Subject]:
        return [subject(1000 + i, moved_after_days=float(i + 1)) for i in range(n)]

    def test_too_early_below_the_minimum_of_treated(self) -> None:
        treated = [subject(i, moved_after_days=3.0) for i in range(4)]
        result = compare(treated, self.comparison(), noun="applications")
        self.assertEqual(result.verdict, "too_early")
        self.assertEqual(result.reason, "too early to tell: 4 applications, needs 10")
        self.assertIsNone(result.win)
        self.assertIsNone(result.speed)
        self.assertIsNone(result.treated.win_rate)
        self.assertEqual(
            result.headline("Deals with this play"),
            "Deals with this play: too early to tell: 4 applications, needs 10.",
        )

    def test_nothing_to_compare_is_too_early_not_an_error(self) -> None:
        result = compare([], [])
        self.assertEqual(result.verdict, "too_early")
        self.assertEqual(result.treated.curve[0].at_risk, 0)
        self.assertEqual(
            compare([subject(1)], []).reason,
            "too early to tell: 0 of 1 treated deals with comparable deals, needs 10",
        )

    def test_too_early_with_too_few_comparable_deals(self) -> None:
        treated = [subject(i, moved_after_days=3.0) for i in range(12)]
        result = compare(treated, self.comparison(6))
        self.assertEqual(result.verdict, "too_early")
        self.assertEqual(result.reason, "too early to tell: 6 comparable deals, needs 10")

    def test_treated_without_comparison_are_counted_and_left_out(self) -> None:
        treated = [subject(i, moved_after_days=3.0) for i in range(12)]
        treated += [subject(50 + i, stratum="nowhere") for i in range(3)]
        result = compare(treated, self.comparison())
        self.assertEqual(result.unmatched_treated, 3)
        self.assertEqual(result.treated.n, 12)
        self.assertIn("3 treated deals had no comparable deal", result.notes[0])

    def test_a_deal_seen_at_several_moments_counts_once_in_the_effective_n(self) -> None:
        won: dict[str, Any] = {"outcome": "won", "closed_after_days": 20.0}
        treated = [subject(i, **won) for i in range(12)]
        comparison = [
            subject(1000 + i % 10, index_at=T0 + timedelta(days=i // 10), **won) for i in range(30)
        ]
        result = compare(treated, comparison)
        assert result.comparison.win_rate is not None
        self.assertEqual(result.comparison.n, 30)
        self.assertEqual(result.comparison.deals, 10)
        self.assertAlmostEqual(result.comparison.win_rate.effective_n, 10.0)

    def test_figures_do_not_depend_on_input_order(self) -> None:
        treated, comparison = simulate(CONFOUNDED, n_treated=30, n_comparison=120, seed=9)
        first = compare(treated, comparison).as_dict()
        rng = random.Random(1)
        rng.shuffle(treated)
        rng.shuffle(comparison)
        self.assertEqual(compare(treated, comparison).as_dict(), first)

    def test_results_are_plain_json(self) -> None:
        treated, comparison = simulate(CONFOUNDED, n_treated=30, n_comparison=120, seed=2)
        text = json.dumps(compare(treated, comparison).as_dict(), allow_nan=False)
        self.assertIn('"verdict"', text)

    def test_headline_gives_speed_interval_and_sizes(self) -> None:
        sc = replace(CONFOUNDED, speed=2.5)
        treated, comparison = simulate(sc, n_treated=30, n_comparison=120, seed=4)
        result = compare(treated, comparison)
        assert result.speed is not None
        s = result.speed
        self.assertEqual(
            result.headline("Deals you innovated on"),
            f"Deals you innovated on moved {s.estimate:.1f}\u00d7 faster (90% interval "
            f"{s.interval.low:.1f}\u2013{s.interval.high:.1f}, n = 30 vs "
            f"{result.comparison.deals})",
        )

    def test_bad_input_names_the_subject(self) -> None:
        treated = [subject(i) for i in range(3)] + [subject(7, moved_after_days=500.0)]
        with self.assertRaisesMessage(
            ValueError,
            "treated[3] (deal 7): moved_after_days must lie between 0 and follow_up_days",
        ):
            compare(treated, self.comparison())
        with self.assertRaisesMessage(
            ValueError, "comparison[0] (deal 5): closed_after_days is given exactly when"
        ):
            compare(treated[:3], [subject(5, outcome="won")])
        with self.assertRaisesMessage(ValueError, "level must be between 0.5 and 1"):
            compare(treated[:3], self.comparison(), level=1.5)
