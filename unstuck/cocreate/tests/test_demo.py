"""The demo workspace is ready for co-creation: stuck deals with obstacles and a closed loop."""

from __future__ import annotations

from datetime import date

from django.test import TestCase

from unstuck.cocreate.models import Lever, Phase, Session
from unstuck.core.models import Workspace
from unstuck.demo.generator import generate_demo
from unstuck.investigate.models import Obstacle


class DemoCocreateTests(TestCase):
    workspace: Workspace

    @classmethod
    def setUpTestData(cls) -> None:
        cls.workspace = generate_demo(deals=200, seed=5, today=date(2026, 11, 2)).workspace

    def test_the_first_managers_deals_have_obstacles_to_work_from(self) -> None:
        team_deals = Obstacle.objects.filter(
            deal__team__manager__email="manager@demo.example", deal__status="open"
        ).values("deal")
        self.assertGreaterEqual(team_deals.distinct().count(), 10)
        self.assertGreaterEqual(Lever.objects.filter(workspace=self.workspace).count(), 30)

    def test_one_session_has_closed_the_loop(self) -> None:
        # The past sessions unstuck.demo.insights plants carry no action items; this one does.
        session = (
            Session.objects.filter(workspace=self.workspace, action_items__isnull=False)
            .distinct()
            .get()
        )
        self.assertEqual(session.phase, Phase.CLOSED)
        self.assertEqual(session.outcome, "moved")
        self.assertGreaterEqual(session.options.count(), 8)
        self.assertTrue(session.options.filter(is_chosen=True).exists())
        self.assertEqual(session.options.values("scores__user").distinct().count(), 2)
        self.assertGreater(session.deal.stage_changes.filter(source="demo").count(), 0)
