from __future__ import annotations

from datetime import date
from io import StringIO
from typing import Any

from django.core.management import call_command
from django.test import TestCase, override_settings

from unstuck.core.models import Workspace
from unstuck.demo.generator import generate_demo
from unstuck.investigate.evaluation import win_model_evaluate
from unstuck.investigate.models import DealAssessment, WinModel
from unstuck.investigate.services import assessments_recompute
from unstuck.investigate.tests.helpers import InvestigateCase


class StageRatesTests(InvestigateCase):
    def test_few_closed_deals_get_stage_rates_instead_of_boosting(self) -> None:
        with self.settings(DATA_DIR=self._tmp()):
            result = assessments_recompute(workspace=self.workspace)
        self.assertEqual(result.model_kind, WinModel.Kind.STAGE_RATES)
        assessment = DealAssessment.objects.get(deal=self.deal_a)
        self.assertGreater(assessment.win_probability, 0)
        self.assertIn("went on to win", assessment.factors[0]["text"])

    def _tmp(self) -> str:
        import tempfile

        return tempfile.mkdtemp()


class BoostingTests(TestCase):
    workspace: Workspace

    @classmethod
    def setUpTestData(cls) -> None:
        cls.workspace = generate_demo(deals=500, seed=3, today=date(2026, 3, 2)).workspace

    def test_the_model_does_not_depend_on_the_order_the_database_returns_rows_in(self) -> None:
        from unittest import mock

        from unstuck.investigate import winmodel
        from unstuck.investigate.stall_signals import signal_rows

        def trained(order: Any) -> str:
            returned = signal_rows(self.workspace, closed_snapshots=True)
            self.assertEqual(len({r["deal_id"] for r in returned}), len(returned))
            with mock.patch.object(winmodel, "signal_rows", return_value=order(returned)):
                fitted = winmodel.fit(*winmodel.training_data(self.workspace))
            self.assertEqual(fitted.kind, WinModel.Kind.BOOSTING)
            assert fitted.fingerprint is not None
            return fitted.fingerprint

        as_returned = trained(list)
        self.assertEqual(trained(lambda rows: rows[::-1]), as_returned)
        self.assertEqual(trained(lambda rows: rows[1::2] + rows[::2]), as_returned)

    def test_train_evaluate_and_score_the_demo(self) -> None:
        import tempfile

        with override_settings(DATA_DIR=tempfile.mkdtemp()):
            out = StringIO()
            call_command("model", "train", "--workspace", "demo", stdout=out)
            self.assertIn("Gradient boosting", out.getvalue())
            evaluation = win_model_evaluate(workspace=self.workspace)
            self.assertIn("time-ordered", evaluation.method)
            # The model must beat the stage-only baseline on the later closings.
            self.assertGreater(evaluation.model.auc, evaluation.baseline.auc)
            self.assertGreater(evaluation.model.auc, 0.75)
            assessments_recompute(workspace=self.workspace)
        stuck = DealAssessment.objects.filter(workspace=self.workspace, stall_score__gte=40)
        self.assertTrue(stuck.exists())
        top = stuck.order_by("-payoff").first()
        assert top is not None
        self.assertGreater(top.payoff, 0)
        self.assertTrue(top.factors)

    def test_retraining_unchanged_deals_keeps_the_stored_model(self) -> None:
        import tempfile
        from unittest import mock

        from unstuck.investigate import winmodel

        with override_settings(DATA_DIR=tempfile.mkdtemp()):
            with mock.patch.object(winmodel, "_boosting", wraps=winmodel._boosting) as fits:
                winmodel.win_model_train(workspace=self.workspace)
                first = winmodel.load(self.workspace)
                winmodel.win_model_train(workspace=self.workspace)  # nothing changed
                again = winmodel.load(self.workspace)
            assert first is not None and again is not None
            self.assertEqual(fits.call_count, 1)
            self.assertEqual(again.fingerprint, first.fingerprint)

    def test_custom_attributes_read_through_a_filter_are_those_of_the_ids(self) -> None:
        from unstuck.deals.models import Deal
        from unstuck.investigate import winmodel

        closed = Deal.objects.filter(workspace=self.workspace).exclude(status="open")
        ids = list(closed.order_by("pk").values_list("pk", flat=True))[::2]
        by_ids = winmodel._customs(ids)
        self.assertEqual(len(by_ids), len(ids))
        self.assertTrue(any(by_ids.values()))  # the demo's deals carry custom attributes
        self.assertEqual(winmodel._customs(ids, closed), by_ids)


class FactorEffectsTests(TestCase):
    """The factors re-predict only the rows whose value differs from the typical one: the
    effects are exactly those of re-predicting every row."""

    def test_effects_as_if_every_row_were_predicted_again(self) -> None:
        import numpy as np

        from unstuck.investigate import winmodel
        from unstuck.investigate.stall_signals import signal_rows

        workspace = generate_demo(deals=500, seed=3, today=date(2026, 3, 2)).workspace
        fitted = winmodel.fit(*winmodel.training_data(workspace))
        self.assertEqual(fitted.kind, WinModel.Kind.BOOSTING)
        assert fitted.reference is not None
        rows = signal_rows(workspace)
        customs = winmodel._customs([r["deal_id"] for r in rows])
        X = fitted.spec.matrix(rows, customs)
        p = fitted.model.predict_proba(X)[:, 1]
        skipped = 0
        want: list[list[tuple[str, float]]] = [[] for _ in rows]
        effects = np.zeros_like(X)
        for j in range(X.shape[1]):
            swapped = X.copy()
            swapped[:, j] = fitted.reference[j]
            effects[:, j] = p - fitted.model.predict_proba(swapped)[:, 1]
            skipped += int((X[:, j] == fitted.reference[j]).sum())
        self.assertGreater(skipped, 0)  # the shortcut is taken
        for i in range(len(rows)):
            order = np.argsort(-np.abs(effects[i]))[:3]
            want[i] = [
                (winmodel._label(fitted.spec.names[j]), round(float(effects[i, j]), 3))
                for j in order
                if abs(effects[i, j]) >= 0.005
            ]
        got = [
            [(f["factor"], f["effect"]) for f in prediction.factors]
            for prediction in winmodel.predict(fitted, rows, customs)
        ]
        self.assertEqual(got, want)


class NoHistoryTests(InvestigateCase):
    def test_deals_imported_without_history_train_on_their_custom_attributes(self) -> None:

        from unstuck.deals.models import Deal

        won, lost = self.stages[4], self.stages[5]
        rows = []
        for n in range(240):
            wins = n % 3 == 0
            rows.append(
                Deal(
                    workspace=self.workspace,
                    name=f"Imported {n}",
                    pipeline=self.pipeline,
                    stage=won if wins else lost,
                    status="won" if wins else "lost",
                    external_id=f"IMP-{n}",
                    custom={
                        "route": "Reseller" if wins else "Telesales",
                        "elapsed_days": 20 + (n % 7) * (1 if wins else 9),
                    },
                )
            )
        Deal.objects.bulk_create(rows)
        from sklearn.metrics import roc_auc_score

        from unstuck.investigate.winmodel import fit, predict, training_data

        data, y, customs = training_data(self.workspace)
        fitted = fit(data, y, customs)
        self.assertEqual(fitted.kind, WinModel.Kind.BOOSTING)
        self.assertNotIn("stage_order", fitted.spec.names)  # unknown without history
        p = [pr.probability for pr in predict(fitted, data, customs, explain=False)]
        self.assertGreater(roc_auc_score(y, p), 0.9)


class DegenerateDataTests(TestCase):
    """A wizard import appended to a workspace left features known on one block of deals
    only; the fit failed inside scikit-learn and the scoring stopped (issue 14.2)."""

    @staticmethod
    def _rows(n: int, *, champion_known: int) -> list[dict[str, Any]]:
        return [
            {
                "deal_id": i,
                "stage_kind": "open",
                "stage_order": i % 2,
                "stage_name": "Engaging",
                "amount_peak": 100,
                "amount_now": 100,
                "age_days": i % 50,
                "days_in_stage": 0,
                "n_act": 0,
                "n_act_30": 0,
                "days_silent": i % 50,
                "n_inbound": 0,
                "n_sh": 0,
                "n_eb": 0,
                "n_supporters": 0,
                "pushes": 0,
                "moved_back_at": None,
                "days_to_close": None,
                "champion_days": i % 9 if i < champion_known else None,
                "stall_score": 0,
            }
            for i in range(n)
        ]

    def test_a_feature_known_on_one_block_of_deals_still_fits(self) -> None:
        import numpy as np

        from unstuck.investigate.winmodel import fit, predict

        rows = self._rows(600, champion_known=60)
        y = np.array([1 if i % 3 == 0 else 0 for i in range(600)])
        fitted = fit(rows, y, {})
        self.assertEqual(fitted.kind, WinModel.Kind.BOOSTING)
        self.assertEqual(len(predict(fitted, rows[:3], {}, explain=False)), 3)

    def test_a_fit_that_fails_falls_back_to_stage_rates_and_says_why(self) -> None:
        from unittest import mock

        import numpy as np

        from unstuck.investigate import winmodel

        rows = self._rows(400, champion_known=400)
        y = np.array([1 if i % 3 == 0 else 0 for i in range(400)])
        failing = mock.Mock(side_effect=ValueError("window shape cannot be larger"))
        with mock.patch.object(
            winmodel, "_boosting", return_value=lambda spec: mock.Mock(fit=failing)
        ):
            fitted = winmodel.fit(rows, y, {})
        self.assertEqual(fitted.kind, WinModel.Kind.STAGE_RATES)
        self.assertIn("could not be fitted", fitted.fallback_reason)
        p = winmodel.predict(fitted, rows[:2], {})
        self.assertIn("went on to win", p[0].factors[0]["text"])

    def test_one_outcome_only_falls_back_and_says_so(self) -> None:
        import numpy as np

        from unstuck.investigate.winmodel import fit

        rows = self._rows(300, champion_known=300)
        fitted = fit(rows, np.zeros(300, dtype=int), {})
        self.assertEqual(fitted.kind, WinModel.Kind.STAGE_RATES)
        self.assertIn("Only 0 closed deals won", fitted.fallback_reason)


def _synthetic(n: int, seed: int) -> tuple[list[dict[str, Any]], Any, dict[int, dict[str, Any]]]:
    """Closed deals with varied figures, missing values and two categorical attributes, so
    that the booster splits on numbers, on categories and on missing values."""
    import numpy as np

    rng = np.random.default_rng(seed)
    rows, customs, won = [], {}, []
    for i in range(n):
        silent = int(rng.integers(0, 60))
        amount = float(rng.lognormal(10, 1))
        champion = None if rng.random() < 0.3 else int(rng.integers(0, 40))
        region = str(rng.choice(["North", "South", "East", "West", "Far"]))
        rows.append(
            {
                "deal_id": i,
                "stage_kind": "open",
                "stage_order": int(rng.integers(1, 5)),
                "stage_name": "Engaging",
                "amount_peak": amount * float(rng.choice([1.0, 1.0, 1.3])),
                "amount_now": amount,
                "age_days": int(rng.integers(1, 300)),
                "days_in_stage": int(rng.integers(0, 90)),
                "n_act": int(rng.integers(0, 30)),
                "n_act_30": int(rng.integers(0, 10)),
                "days_silent": silent,
                "n_inbound": int(rng.integers(0, 5)),
                "n_sh": int(rng.integers(0, 6)),
                "n_eb": int(rng.integers(0, 2)),
                "n_supporters": int(rng.integers(0, 3)),
                "pushes": int(rng.integers(0, 4)),
                "moved_back_at": None,
                "days_to_close": None if rng.random() < 0.2 else int(rng.integers(-20, 90)),
                "champion_days": champion,
                "stall_score": int(rng.integers(0, 100)),
            }
        )
        customs[i] = {"region": region, "tier": str(rng.choice(["A", "B", "C"]))}
        odds = (
            0.8
            - silent / 60
            + (0.4 if region in ("North", "East") else 0)
            + (0.3 if champion is not None and champion < 10 else 0)
        )
        won.append(int(rng.random() < 1 / (1 + np.exp(-2 * odds))))
    return rows, np.array(won), customs


class FactorShortcutTests(TestCase):
    """The factors read the boosted trees directly (winmodel._swap_effects_by_trees): the
    probabilities and effects must be exactly, to the last bit, those of predicting every
    swapped row again with the calibrated model, for both calibrations."""

    def check(self, n: int, method: str) -> None:
        import numpy as np

        from unstuck.investigate import winmodel

        rows, y, customs = _synthetic(n, seed=n)
        fitted = winmodel.fit(rows, y, customs)
        self.assertEqual(fitted.kind, WinModel.Kind.BOOSTING)
        self.assertEqual(fitted.model.calibrated_classifiers_[0].method, method)
        self.assertTrue(fitted.spec.categorical)  # categorical splits are exercised
        assert fitted.reference is not None
        fresh, _, fresh_customs = _synthetic(700, seed=n + 1)
        X = fitted.spec.matrix(fresh, fresh_customs)
        self.assertTrue(np.isnan(X).any())  # and missing values
        got_p, got = winmodel._swap_effects_by_trees(fitted.model, X, fitted.reference)
        want_p, want = winmodel._swap_effects_by_predicting(fitted.model, X, fitted.reference)
        np.testing.assert_array_equal(got_p, want_p)
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(got_p, fitted.model.predict_proba(X)[:, 1])
        self.assertGreater(np.count_nonzero(got), X.shape[0])  # effects were computed

    def test_sigmoid_calibration(self) -> None:
        self.check(600, "sigmoid")

    def test_isotonic_calibration(self) -> None:
        self.check(1500, "isotonic")

    def test_a_shortcut_that_disagrees_is_not_used(self) -> None:
        from unittest import mock

        import numpy as np

        from unstuck.investigate import winmodel

        rows, y, customs = _synthetic(600, seed=7)
        fitted = winmodel.fit(rows, y, customs)
        X = fitted.spec.matrix(rows[:100], customs)
        assert fitted.reference is not None
        want = winmodel._swap_effects_by_predicting(fitted.model, X, fitted.reference)
        wrong = (want[0] + 0.01, want[1])
        with (
            mock.patch.object(winmodel, "_TREES_FROM", 0),
            mock.patch.object(winmodel, "_swap_effects_by_trees", return_value=wrong) as trees,
        ):
            got = winmodel.swap_effects(fitted.model, X, fitted.reference)
        self.assertEqual(trees.call_count, 1)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])


class RetrainOnSameDataTests(TestCase):
    """A retraining on the very same training data keeps the stored booster (the fit is
    deterministic, so fitting again would give the same model); any change fits again."""

    def test_same_data_keeps_the_booster_and_new_data_fits_again(self) -> None:
        import numpy as np

        from unstuck.investigate import winmodel

        rows, y, customs = _synthetic(600, seed=11)
        first = winmodel.fit(rows, y, customs)
        self.assertTrue(first.fingerprint)
        again = winmodel.fit(rows, y, customs, previous=first)
        self.assertIs(again.model, first.model)
        # What keeping it saves: a fit from scratch gives the same probabilities.
        fresh = winmodel.fit(rows, y, customs)
        X = first.spec.matrix(rows, customs)
        np.testing.assert_array_equal(fresh.model.predict_proba(X), first.model.predict_proba(X))
        changed = y.copy()
        changed[0] = 1 - changed[0]  # one deal's outcome
        refit = winmodel.fit(rows, changed, customs, previous=first)
        self.assertIsNot(refit.model, first.model)
        self.assertNotEqual(refit.fingerprint, first.fingerprint)


class LargeWorkspaceSettingsTests(TestCase):
    def test_many_closed_deals_train_with_the_larger_learning_rate(self) -> None:
        from unittest import mock

        from unstuck.investigate import winmodel

        rows, y, customs = _synthetic(600, seed=5)
        small = winmodel.fit(rows, y, customs)
        with mock.patch.object(winmodel, "LARGE_TRAINING", 500):
            large = winmodel.fit(rows, y, customs, previous=small)
        rates = {f.model.calibrated_classifiers_[0].estimator.learning_rate for f in (small, large)}
        self.assertEqual(rates, {0.06, winmodel.LARGE_LEARNING_RATE})
        # Other settings, another fingerprint: the smaller-rate booster is not kept.
        self.assertIsNot(large.model, small.model)


class RecomputeThreadsTests(TestCase):
    """The recompute's boosting runs on two OpenMP threads (sleeping while they wait), the
    rest of the app on one; the model and its factors are the same either way."""

    def test_the_recompute_raises_the_pool_and_puts_it_back(self) -> None:
        import os
        from unittest import mock

        from sklearn.utils._openmp_helpers import _openmp_effective_n_threads

        from unstuck.investigate import services

        self.assertEqual(os.environ.get("OMP_WAIT_POLICY"), "PASSIVE")  # unstuck/__init__.py
        seen: list[int] = []

        def record(**kwargs: Any) -> Any:
            seen.append(_openmp_effective_n_threads())
            raise RuntimeError("stop here")

        before = _openmp_effective_n_threads()
        for setting, want in (("2", 2), ("3", 3), ("", min(2, os.cpu_count() or 1))):
            with (
                mock.patch.dict(os.environ, {"UNSTUCK_RECOMPUTE_THREADS": setting}),
                mock.patch.object(services, "_recompute", side_effect=record),
                self.assertRaises(RuntimeError),
            ):
                services.assessments_recompute(workspace=Workspace())
            self.assertEqual(seen[-1], want)
            self.assertEqual(_openmp_effective_n_threads(), before)
        with mock.patch.dict(os.environ, {"OMP_WAIT_POLICY": "ACTIVE"}):
            self.assertEqual(services.recompute_threads(), 1)  # a spinning pool stays at one

    def test_the_model_and_its_factors_do_not_depend_on_the_threads(self) -> None:
        import numpy as np
        from threadpoolctl import threadpool_limits

        from unstuck.investigate import winmodel

        rows, y, customs = _synthetic(2500, seed=13)
        results = []
        for threads in (1, 2):
            with threadpool_limits(limits=threads, user_api="openmp"):
                fitted = winmodel.fit(rows, y, customs)
                assert fitted.reference is not None
                X = fitted.spec.matrix(rows, customs)
                results.append(winmodel.swap_effects(fitted.model, X, fitted.reference))
        np.testing.assert_array_equal(results[0][0], results[1][0])
        np.testing.assert_array_equal(results[0][1], results[1][1])
