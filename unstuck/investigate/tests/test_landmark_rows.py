"""The landmarks of the learnt stall score are read in one statement (issue 16.4): every row
it returns is the row the one-moment statement returns for that deal at that landmark, on a
workspace with history, activities, committees and closed deals, whole or sampled."""

from __future__ import annotations

from datetime import date
from typing import Any
from unittest import mock

from django.test import TestCase
from django.utils import timezone

from unstuck.core.models import Workspace
from unstuck.demo.generator import generate_demo
from unstuck.investigate import stall_score
from unstuck.investigate.stall_signals import landmark_signal_rows, signal_rows


class LandmarkRowsTests(TestCase):
    workspace: Workspace

    @classmethod
    def setUpTestData(cls) -> None:
        cls.workspace = generate_demo(deals=300, seed=5, today=date(2026, 3, 2)).workspace

    def moments(self) -> list[Any]:
        snaps = stall_score.landmark_snapshots(self.workspace, known_at=timezone.now())
        self.assertGreaterEqual(len(snaps.landmarks), 3)
        return snaps.landmarks

    def assert_same_as_one_by_one(self, sample: int) -> None:
        with mock.patch.object(stall_score, "LANDMARK_SAMPLE", sample):
            landmarks = self.moments()
            moments = [(m, stall_score._landmark_sample(self.workspace, m)) for m in landmarks]
            together = landmark_signal_rows(self.workspace, moments)
        self.assertTrue(together)
        for i, (moment, deals) in enumerate(moments):
            alone = {
                r["deal_id"]: r for r in signal_rows(self.workspace, as_of=moment, deals=deals)
            }
            seen = {r["deal_id"]: r for r in together if r["lm"] == i}
            self.assertEqual(set(seen), set(alone), moment)
            for deal_id, row in seen.items():
                self.assertEqual({k: v for k, v in row.items() if k != "lm"}, alone[deal_id])
        self.assertEqual(
            [(r["lm"], r["deal_id"]) for r in together],
            sorted((r["lm"], r["deal_id"]) for r in together),
        )

    def test_every_landmark_row_is_the_one_moment_row(self) -> None:
        self.assert_same_as_one_by_one(sample=5_000)

    def test_and_so_with_a_sample_per_landmark(self) -> None:
        self.assert_same_as_one_by_one(sample=40)

    def test_the_columns_asked_for_are_those_of_the_whole_row(self) -> None:
        moments: list[Any] = [(m, None) for m in self.moments()]
        whole = landmark_signal_rows(self.workspace, moments)
        narrow = landmark_signal_rows(self.workspace, moments, columns=stall_score.SNAPSHOT_COLUMNS)
        keep = {"lm", "thresholds", *stall_score.SNAPSHOT_COLUMNS}
        self.assertEqual(narrow, [{k: v for k, v in r.items() if k in keep} for r in whole])
        self.assertEqual(set(narrow[0]), keep)

    def test_the_flags_fire_as_they_would(self) -> None:
        # The comparison means something only if the flags vary across the landmarks.
        landmarks = self.moments()
        rows = landmark_signal_rows(self.workspace, [(m, None) for m in landmarks])
        for code in ("stage_stalled", "no_activity", "single_threaded", "slipping"):
            self.assertTrue(any(r[f"f_{code}"] for r in rows), code)
        self.assertGreater(len({r["lm"] for r in rows}), 2)
