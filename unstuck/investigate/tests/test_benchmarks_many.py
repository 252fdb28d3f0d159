"""The benchmarks known at many moments come from one pass (the stall score's landmarks,
issue 16.4) and are those `benchmarks_compute(as_of=...)` gives at each moment."""

from __future__ import annotations

from datetime import date, timedelta

from django.test import TestCase
from django.utils import timezone

from unstuck.core.models import Workspace
from unstuck.demo.generator import generate_demo
from unstuck.investigate.benchmarks import benchmarks_compute, benchmarks_compute_many

FIELDS = [
    "stage_id",
    "won_deals",
    "p50_days",
    "p75_days",
    "p90_days",
    "raw_p75_days",
    "raw_p90_days",
    "entered",
    "conversion",
    "activity_gap_p50_days",
    "activity_gap_p90_days",
]


class BenchmarksManyTests(TestCase):
    workspace: Workspace

    @classmethod
    def setUpTestData(cls) -> None:
        cls.workspace = generate_demo(deals=300, seed=5, today=date(2026, 3, 2)).workspace

    def test_each_moment_as_computed_alone(self) -> None:
        now = timezone.now()
        # From before the first closing (nothing known) to now, a few weeks apart.
        moments = [now - timedelta(days=days) for days in (2000, 400, 300, 250, 200, 90, 0)]
        many = benchmarks_compute_many(workspace=self.workspace, moments=moments)
        self.assertEqual(len(many), len(moments))
        seen_won = set()
        for moment, rows in zip(moments, many, strict=True):
            alone = benchmarks_compute(workspace=self.workspace, as_of=moment)
            got = [[getattr(b, f) for f in FIELDS] for b in rows]
            want = [[getattr(b, f) for f in FIELDS] for b in alone]
            self.assertEqual(len(got), len(want))
            for g, w in zip(got, want, strict=True):
                for field, a, b in zip(FIELDS, g, w, strict=True):
                    if isinstance(b, float):
                        self.assertAlmostEqual(a, b, places=9, msg=(moment, field))
                    else:
                        self.assertEqual(a, b, (moment, field))
            seen_won.add(rows[0].won_deals)
        self.assertGreater(len(seen_won), 3)  # the moments did see different histories
