"""The queue's summary is stored (investigate.tally): for every role it must equal the live
count of the assessed open deals the member may see, after whatever changes them."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from django.db.models import Count, Max, Q, Sum

from unstuck.core.access import deals_visible_to
from unstuck.core.models import Membership, User
from unstuck.deals.models import Deal, Stage, StageKind
from unstuck.deals.services import deal_move_to_stage
from unstuck.imports.mapping import Mapping
from unstuck.imports.readers.crm import csv_plan
from unstuck.imports.tests.helpers import run
from unstuck.investigate.models import DealAssessment, QueueTally
from unstuck.investigate.selectors import queue_summary
from unstuck.investigate.services import assessments_recompute
from unstuck.investigate.stall_signals import STALL_WARNING
from unstuck.investigate.tests.helpers import InvestigateCase, ago


def live(membership: Membership) -> tuple[int, int, float, Any]:
    """What the summary counted on every request before it was stored."""
    stuck = Q(stall_score__gte=STALL_WARNING)
    agg = DealAssessment.objects.filter(deal__in=deals_visible_to(membership).open()).aggregate(
        n=Count("pk"),
        stuck=Count("pk", filter=stuck),
        payoff=Sum("payoff", filter=stuck),
        at=Max("computed_at"),
    )
    return (agg["stuck"] or 0, agg["n"] or 0, round(float(agg["payoff"] or 0), 2), agg["at"])


class QueueTallyTests(InvestigateCase):
    def setUp(self) -> None:
        super().setUp()
        folder = tempfile.mkdtemp(prefix="unstuck-tally-")
        self.addCleanup(shutil.rmtree, folder, ignore_errors=True)
        self.folder = Path(folder)
        for days, owner in [(60, self.rep_a), (50, self.rep_a2), (70, self.rep_b), (45, None)]:
            self.make_deal(owner=owner, created_at=ago(days))
        self.make_deal(owner=self.manager_a, team=self.team_a, created_at=ago(80))

    def members(self) -> list[Membership]:
        users: list[User] = [
            self.leader, self.manager_a, self.manager_b, self.rep_a, self.rep_b, self.partner
        ]  # fmt: skip
        return [self.membership_of(u) for u in users]

    def assert_summaries_are_live(self) -> None:
        for m in self.members():
            s = queue_summary(m)
            got = (s.stuck, s.open_deals, round(s.value_at_stake, 2), s.computed_at)
            self.assertEqual(got, live(m), m.user.email)

    def test_after_a_recompute_every_role_sees_the_live_counts(self) -> None:
        assessments_recompute(workspace=self.workspace)
        self.assertGreater(live(self.membership_of(self.leader))[1], 3)
        self.assertGreater(live(self.membership_of(self.manager_a))[0], 0)
        self.assert_summaries_are_live()
        self.assertTrue(QueueTally.objects.filter(workspace=self.workspace).exists())

    def test_a_deal_moved_out_of_and_back_into_the_open_stages_counts_live(self) -> None:
        assessments_recompute(workspace=self.workspace)
        before = queue_summary(self.membership_of(self.manager_a)).open_deals
        lost = Stage.objects.get(pipeline=self.pipeline, kind=StageKind.LOST)
        deal_move_to_stage(deal=self.deal_a, stage=lost, by=None)
        self.assert_summaries_are_live()
        self.assertEqual(queue_summary(self.membership_of(self.manager_a)).open_deals, before - 1)
        # Reopened before the next recompute: its assessment counts again.
        deal_move_to_stage(deal=self.deal_a, stage=self.stages[1], by=None)
        self.assert_summaries_are_live()
        self.assertEqual(queue_summary(self.membership_of(self.manager_a)).open_deals, before)

    def test_an_incremental_recompute_keeps_the_counts_live(self) -> None:
        assessments_recompute(workspace=self.workspace)
        self.touch(self.deal_b, 1)
        Deal.objects.filter(pk=self.deal_a2.pk).update(status=StageKind.WON)
        result = assessments_recompute(workspace=self.workspace, incremental=True)
        self.assertFalse(result.full)
        self.assert_summaries_are_live()

    def test_an_import_that_closes_and_reassigns_deals_keeps_the_counts_live(self) -> None:
        mapping = Mapping.from_dict(
            {
                "source": "crm",
                "columns": {
                    "external_id": "id",
                    "name": "name",
                    "owner": "owner",
                    "stage": "stage",
                    "amount": "amount",
                    "created_at": "created",
                },
                "stages": {"order": [s.name for s in self.stages], "won": [self.stages[4].name]},
            }
        )
        first = self.stages[0].name
        rows = [
            ("1", self.rep_a, first),
            ("2", self.rep_a, first),
            ("3", self.rep_b, first),
            ("4", self.rep_a2, first),
        ]

        def load(rows: list[tuple[str, User, str]]) -> None:
            path = self.folder / "deals.csv"
            lines = ["id,name,owner,stage,amount,created"]
            lines += [f"{i},Deal {i},{u.email},{st},90000,2020-01-01" for i, u, st in rows]
            path.write_text("\n".join(lines) + "\n")
            outcome = run(self.workspace, csv_plan(mapping=mapping, deals=path))
            self.assertEqual(outcome.run.status, "done", outcome.run.message)

        load(rows)
        assessments_recompute(workspace=self.workspace)
        self.assertEqual(DealAssessment.objects.filter(deal__source="crm").count(), 4)
        self.assert_summaries_are_live()
        # Deal 1 won, deal 3 handed from team B to team A, before any rescoring.
        rows[0] = ("1", self.rep_a, self.stages[4].name)
        rows[2] = ("3", self.rep_a2, first)
        load(rows)
        self.assertEqual(Deal.objects.get(source="crm", external_id="3").team_id, self.team_a.pk)
        self.assert_summaries_are_live()
