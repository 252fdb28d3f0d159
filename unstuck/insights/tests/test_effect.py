"""What innovation changed, end to end on generated history: a planted effect is found, and
history without one reports none. The demo generator plants it (unstuck/demo/insights.py):
stuck deals are taken up week by week at random, and with `innovation_speedup=3` the rest of
each taken-up deal's stay runs three times as fast — for the stays that ended by today (a deal
still waiting today has no generated future to bring forward), so the effect to be seen is
real but may read smaller than 3. Recovering a known effect exactly is test_planted.py's job, on a
history where every treated deal's wait is scaled; here the demo's own history is checked."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from django.apps import apps
from django.core.management.color import no_style
from django.db import connection
from django.test import TestCase

from unstuck.core.models import Workspace
from unstuck.demo.generator import generate_demo
from unstuck.insights.effect import effectiveness_compute, innovation_moments

TODAY = date(2026, 6, 15)
NOW = datetime.combine(TODAY, time(9), tzinfo=UTC)


def ids_from_the_start() -> None:
    """Row ids as on a fresh database, on every backend. The comparison's sample is a
    reproducible hash of the deal ids, and PostgreSQL's sequences, unlike SQLite's, keep
    counting past the rows earlier tests rolled back: the same seed would give another
    sample, and the result would depend on which tests ran before (no-op on SQLite)."""
    with connection.cursor() as cursor:
        for statement in connection.ops.sequence_reset_sql(no_style(), apps.get_models()):
            cursor.execute(statement)


class PlantedEffectTests(TestCase):
    planted: Workspace
    null: Workspace

    @classmethod
    def setUpTestData(cls) -> None:
        ids_from_the_start()
        cls.planted = generate_demo(
            deals=600, seed=7, today=TODAY, slug="planted", innovation_speedup=3.0
        ).workspace
        cls.null = generate_demo(
            deals=600, seed=7, today=TODAY, slug="null", innovation_speedup=1.0
        ).workspace

    def test_the_planted_speed_up_is_found(self) -> None:
        out = effectiveness_compute(self.planted, names={}, as_of=NOW)["all"]["result"]
        null = effectiveness_compute(self.null, names={}, as_of=NOW)["all"]["result"]
        self.assertEqual(out["verdict"], "working")
        speed = out["speed"]
        self.assertGreater(speed["interval"]["low"], 1.0)
        self.assertLess(speed["interval"]["low"], 3.0)  # never more than was planted
        # The same sessions on the same deals, only faster after them: read as faster.
        self.assertGreater(speed["estimate"], null["speed"]["estimate"] * 1.5)
        self.assertGreaterEqual(out["treated"]["n"], 30)

    def test_no_effect_is_reported_on_history_without_one(self) -> None:
        result = effectiveness_compute(self.null, names={}, as_of=NOW)
        for scope in [result["all"], *result["managers"].values()]:
            out = scope["result"]
            self.assertNotIn(out["verdict"], {"working", "worse"})
            self.assertLessEqual(out["speed"]["interval"]["low"], 1.0)
            self.assertGreaterEqual(out["speed"]["interval"]["high"], 1.0)

    def test_both_histories_hold_the_same_sessions_at_the_same_moments(self) -> None:
        # The null differs from the planted history only in what happens after a session.
        def moments(ws: Workspace) -> list[tuple[str, str]]:
            return sorted(
                (m.at.isoformat(), m.kind) for m in innovation_moments(ws) if m.kind == "session"
            )

        self.assertEqual(moments(self.planted), moments(self.null))
