"""The shipped mappings against the real data sets in ../shared/data."""

from __future__ import annotations

import pytest
from django.db.models import Count
from django.test import TestCase

from unstuck.core.models import Workspace
from unstuck.deals.models import Account, Deal
from unstuck.imports.mapping import Mapping
from unstuck.imports.readers.base import ImportPlan
from unstuck.imports.readers.crm import csv_plan
from unstuck.imports.tests.helpers import EXAMPLES, run, shared_data


@pytest.mark.shared_data
class MavenTests(TestCase):
    workspace: Workspace

    @classmethod
    def setUpTestData(cls) -> None:
        cls.workspace = Workspace.objects.create(name="MavenTech", slug="maven")

    def plan(self) -> ImportPlan:
        return csv_plan(
            mapping=Mapping.from_toml(EXAMPLES / "mappings" / "maven-crm.toml"),
            deals=shared_data("maven-crm-sales-opportunities", "sales_pipeline.csv"),
        )

    def test_it_imports_8800_deals_and_a_second_run_changes_nothing(self) -> None:
        first = run(self.workspace, self.plan())
        self.assertEqual(first.result.created, 8800)
        by_status = dict(
            Deal.objects.filter(workspace=self.workspace)
            .values_list("status")
            .annotate(n=Count("pk"))
        )
        self.assertEqual(by_status, {"won": 4238, "lost": 2473, "open": 2089})
        self.assertEqual(Account.objects.filter(workspace=self.workspace).count(), 85)
        second = run(self.workspace, self.plan())
        self.assertEqual((second.result.created, second.result.updated), (0, 0))
        self.assertEqual(second.result.unchanged, 8800)
        self.assertEqual(second.result.history_added, 0)

    def test_companion_files_are_joined_and_gtxpro_finds_its_product(self) -> None:
        run(self.workspace, self.plan())
        deal = Deal.objects.get(workspace=self.workspace, external_id="Z063OYW0")
        self.assertEqual(deal.custom["product"], "GTXPro")
        self.assertEqual((deal.custom["series"], deal.custom["sales_price"]), ("GTX", "4821"))
        self.assertEqual(deal.custom["manager"], "Melvin Marxen")
        assert deal.account is not None and deal.closed_at is not None
        self.assertEqual(deal.account.name, "Isdom")
        won = [s.to_stage.name for s in deal.stage_changes.order_by("changed_at")]
        self.assertEqual(won, ["Engaging", "Won"])
        self.assertEqual(deal.closed_at.date().isoformat(), "2017-03-11")


@pytest.mark.shared_data
class IbmTests(TestCase):
    workspace: Workspace

    @classmethod
    def setUpTestData(cls) -> None:
        cls.workspace = Workspace.objects.create(name="IBM", slug="ibm")

    def test_every_repeated_id_is_reported_and_there_is_one_deal_per_id(self) -> None:
        plan = csv_plan(
            mapping=Mapping.from_toml(EXAMPLES / "mappings" / "ibm-sales-win-loss.toml"),
            deals=shared_data("ibm-sales-win-loss", "WA_Fn-UseC_-Sales-Win-Loss.csv"),
        )
        outcome = run(self.workspace, plan)
        self.assertEqual(outcome.run.status, "done", outcome.run.message)
        self.assertEqual(Deal.objects.filter(workspace=self.workspace).count(), 77_829)
        repeated = {p.value for p in outcome.report.warnings if "repeated" in p.reason}
        self.assertEqual(len(repeated), 183)
        self.assertIn("4947042", repeated)
        self.assertEqual(outcome.result.merged_duplicates, 78_025 - 77_829)
        custom = Deal.objects.filter(workspace=self.workspace).values_list("custom", flat=True)
        self.assertNotIn("Elapsed Days In Sales Stage", custom[0])
        self.assertIn("Route To Market", custom[0])
