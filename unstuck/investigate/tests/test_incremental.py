"""Incremental recompute (issue 16.4): only deals whose data changed are rescored."""

from __future__ import annotations

import copy
import shutil
import tempfile
from datetime import datetime

from django.test import override_settings

from unstuck.deals.models import Deal
from unstuck.investigate.incremental import benchmark_changes
from unstuck.investigate.models import DealAssessment, StageBenchmark
from unstuck.investigate.services import assessments_recompute
from unstuck.investigate.tests.helpers import InvestigateCase, ago


class IncrementalRecomputeTests(InvestigateCase):
    def setUp(self) -> None:
        folder = tempfile.mkdtemp(prefix="unstuck-incremental-")
        self.addCleanup(shutil.rmtree, folder, ignore_errors=True)
        data_dir = override_settings(DATA_DIR=folder)
        data_dir.enable()
        self.addCleanup(data_dir.disable)
        self.quiet = self.make_deal(owner=self.rep_a, created_at=ago(30), name="Quiet")
        self.busy = self.make_deal(owner=self.rep_a, created_at=ago(30), name="Busy")
        self.full = assessments_recompute(workspace=self.workspace)

    def stamp(self, deal: Deal) -> datetime:
        return DealAssessment.objects.get(deal=deal).computed_at

    def test_nothing_changed_rescores_nothing(self) -> None:
        before = self.stamp(self.quiet)
        result = assessments_recompute(workspace=self.workspace, incremental=True)
        self.assertFalse(result.full)
        self.assertEqual(result.assessed, 0)
        self.assertEqual(result.kept, self.full.assessed)
        self.assertEqual(self.stamp(self.quiet), before)

    def test_only_the_deal_with_new_activity_is_rescored(self) -> None:
        quiet_before, busy_before = self.stamp(self.quiet), self.stamp(self.busy)
        self.touch(self.busy, 1)
        result = assessments_recompute(workspace=self.workspace, incremental=True)
        self.assertFalse(result.full)
        self.assertEqual(result.assessed, 1)
        self.assertEqual(self.stamp(self.quiet), quiet_before)
        self.assertGreater(self.stamp(self.busy), busy_before)

    def test_a_stage_move_rescores_the_deal_and_a_closed_deal_loses_its_assessment(self) -> None:
        self.move(self.busy, self.stages[2], ago(1))
        self.quiet.status = "lost"
        self.quiet.save()
        result = assessments_recompute(workspace=self.workspace, incremental=True)
        self.assertFalse(DealAssessment.objects.filter(deal=self.quiet).exists())
        self.assertTrue(DealAssessment.objects.filter(deal=self.busy).exists())
        self.assertEqual(
            DealAssessment.objects.filter(workspace=self.workspace).count(),
            self.full.assessed - 1,
        )
        self.assertLessEqual(result.assessed, 1 if not result.full else result.assessed)

    def test_a_moved_benchmark_marks_its_stage_and_a_cadence_change_everything(self) -> None:
        before = list(StageBenchmark.objects.filter(workspace=self.workspace))
        after = [copy.copy(b) for b in before]
        stage_row = next(b for b in after if b.stage_id == self.stages[1].pk)
        stage_row.p90_days = (stage_row.p90_days or 0) + 3
        self.assertEqual(benchmark_changes(before, after), (False, {self.stages[1].pk}))
        wide = next(b for b in after if b.stage_id is None)
        wide.activity_gap_p90_days = (wide.activity_gap_p90_days or 0) + 1
        self.assertTrue(benchmark_changes(before, after)[0])
