"""Retraining reads a sample of the deals open at each landmark once a workspace is large
(issue 16.4): the sample is about the size asked, the same on every run, and every deal
open then when the workspace is small."""

from __future__ import annotations

from unittest import mock

from unstuck.deals.models import Deal
from unstuck.investigate import stall_score
from unstuck.investigate.tests.helpers import InvestigateCase, ago


class LandmarkSampleTests(InvestigateCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        for i in range(60):
            cls.make_deal(owner=cls.rep_a, created_at=ago(100 + i))

    def open_at(self, days: float) -> set[int]:
        moment = ago(days)
        return set(
            Deal.objects.filter(workspace=self.workspace, created_at__lte=moment)
            .exclude(closed_at__lte=moment)
            .values_list("pk", flat=True)
        )

    def test_a_small_workspace_is_seen_whole(self) -> None:
        self.assertIsNone(stall_score._landmark_sample(self.workspace, ago(50)))

    def test_a_large_one_is_sampled_to_about_the_size_asked_the_same_each_time(self) -> None:
        with mock.patch.object(stall_score, "LANDMARK_SAMPLE", 20):
            sample = stall_score._landmark_sample(self.workspace, ago(50))
            again = stall_score._landmark_sample(self.workspace, ago(50))
        assert sample is not None and again is not None
        picked = set(sample.values_list("pk", flat=True)) & self.open_at(50)
        self.assertTrue(8 <= len(picked) <= 36, len(picked))
        self.assertEqual(picked, set(again.values_list("pk", flat=True)) & self.open_at(50))

    def test_snapshots_read_only_the_sample(self) -> None:
        with mock.patch.object(stall_score, "LANDMARK_SAMPLE", 20):
            snaps = stall_score.landmark_snapshots(self.workspace, known_at=ago(0))
        self.assertTrue(snaps.landmarks)
        for i, moment in enumerate(snaps.landmarks):
            seen = {
                r["deal_id"] for r, at in zip(snaps.rows, snaps.landmark, strict=True) if at == i
            }
            open_then = self.open_at((ago(0) - moment).total_seconds() / 86400)
            self.assertLessEqual(seen, open_then)
            if len(open_then) > 20:
                self.assertLess(len(seen), len(open_then))
