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
