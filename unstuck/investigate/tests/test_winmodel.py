from __future__ import annotations

from datetime import date
from io import StringIO

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
        cls.workspace = generate_demo(deals=700, seed=3, today=date(2026, 3, 2)).workspace

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
