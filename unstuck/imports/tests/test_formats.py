"""Each format imports with its history; re-imports change nothing; newer exports update."""

from __future__ import annotations

import csv
import itertools
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from unstuck.core.testing import PersonasTestCase
from unstuck.deals.models import Account, Deal, StageChange
from unstuck.imports.generator import ExportFiles, generate_salesforce_export
from unstuck.imports.mapping import Mapping
from unstuck.imports.models import ImportProblem, ImportRun, RunStatus
from unstuck.imports.readers.base import ImportPlan
from unstuck.imports.readers.crm import csv_plan, hubspot_plan, salesforce_plan
from unstuck.imports.tests.helpers import EXAMPLES, TempDirMixin, run, stored


class SalesforceImportTests(TempDirMixin, PersonasTestCase):
    def export(self, deals: int = 30) -> ExportFiles:
        owners = [(u.email, u.name) for u in (self.rep_a, self.rep_b, self.manager_a)]
        return generate_salesforce_export(self.tmp / "sf", deals=deals, owner_emails=owners)

    def plan(self, files: ExportFiles) -> ImportPlan:
        return salesforce_plan(
            opportunities=files.opportunities,
            history=files.history,
            accounts=files.accounts,
            users=files.users,
        )

    def test_a_generated_export_imports_with_its_history(self) -> None:
        files = self.export()
        outcome = run(self.workspace, self.plan(files))
        self.assertEqual(outcome.run.status, RunStatus.DONE, outcome.run.message)
        self.assertEqual(outcome.result.created, 30)
        imported = Deal.objects.filter(workspace=self.workspace, source="salesforce")
        self.assertEqual(imported.count(), 30)
        changes = StageChange.objects.filter(deal__in=imported)
        self.assertEqual(changes.count(), files.history_rows)
        self.assertEqual(outcome.result.history_added, files.history_rows)

    def test_deal_state_agrees_with_its_history(self) -> None:
        run(self.workspace, self.plan(self.export()))
        for deal in Deal.objects.filter(workspace=self.workspace, source="salesforce"):
            steps = list(deal.stage_changes.order_by("changed_at", "pk"))
            self.assertEqual(steps[-1].to_stage_id, deal.stage_id)
            moves = [s for s in steps if s.from_stage_id != s.to_stage_id]
            self.assertEqual(deal.stage_entered_at, moves[-1].changed_at)
            self.assertEqual(deal.status, deal.stage.kind)
            if deal.status == "open":
                self.assertIsNone(deal.closed_at)
            else:
                self.assertEqual(deal.closed_at, deal.stage_entered_at)
            for prev, step in itertools.pairwise(steps):
                self.assertEqual(step.from_stage_id, prev.to_stage_id)

    def test_owners_are_matched_by_email_and_the_team_follows_the_owner(self) -> None:
        run(self.workspace, self.plan(self.export()))
        imported = Deal.objects.filter(workspace=self.workspace, source="salesforce")
        self.assertFalse(imported.filter(owner__isnull=True).exists())
        self.assertTrue(imported.filter(owner=self.rep_a, team=self.team_a).exists())
        self.assertTrue(imported.filter(owner=self.rep_b, team=self.team_b).exists())
        self.assertFalse(imported.filter(owner=self.rep_a).exclude(team=self.team_a).exists())

    def test_reimporting_the_same_files_changes_nothing(self) -> None:
        files = self.export()
        run(self.workspace, self.plan(files))
        before = list(Deal.objects.filter(source="salesforce").values().order_by("pk"))
        again = run(self.workspace, self.plan(files))
        self.assertEqual((again.result.created, again.result.updated), (0, 0))
        self.assertEqual(again.result.unchanged, 30)
        self.assertEqual(again.result.history_added, 0)
        after = list(Deal.objects.filter(source="salesforce").values().order_by("pk"))
        self.assertEqual(before, after)

    def test_accounts_come_in_once_and_a_renamed_one_is_updated(self) -> None:
        files = self.export(deals=12)
        first = run(self.workspace, self.plan(files))
        accounts = Account.objects.filter(workspace=self.workspace, source="salesforce")
        self.assertEqual(first.result.accounts_created, accounts.count())
        self.assertGreater(accounts.count(), 2)
        rows = list(csv.DictReader(files.accounts.open(newline="")))
        rows[0]["Name"] = "Renamed Holdings"
        with files.accounts.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        again = run(self.workspace, self.plan(files))
        self.assertEqual((again.result.accounts_created, again.result.accounts_updated), (0, 1))
        self.assertEqual(accounts.get(external_id=rows[0]["Id"]).name, "Renamed Holdings")
        self.assertEqual(accounts.filter(name="Renamed Holdings").count(), 1)

    def test_a_newer_export_updates_deals_and_appends_only_new_history(self) -> None:
        files = self.export(deals=12)
        run(self.workspace, self.plan(files))
        rows = list(csv.DictReader(files.opportunities.open(newline="")))
        open_row = next(r for r in rows if r["IsClosed"] == "false")
        history_count = StageChange.objects.filter(deal__source="salesforce").count()
        # The deal is won a week later, for a bigger amount.
        open_row.update(
            StageName="Closed Won", IsClosed="true", IsWon="true", Amount="99000", Probability="100"
        )
        with files.opportunities.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        with files.history.open("a", newline="") as fh:
            csv.writer(fh).writerow(
                ["008X", open_row["Id"], "", "2025-07-07T09:00:00Z", "Closed Won", "99000", "",
                 open_row["CloseDate"], "100", "Closed", "false"]
            )  # fmt: skip
        newer = run(self.workspace, self.plan(files))
        self.assertEqual((newer.result.created, newer.result.updated), (0, 1))
        self.assertEqual(newer.result.unchanged, 11)
        self.assertEqual(newer.result.history_added, 1)
        self.assertEqual(
            StageChange.objects.filter(deal__source="salesforce").count(), history_count + 1
        )
        deal = Deal.objects.get(source="salesforce", external_id=open_row["Id"])
        self.assertEqual(deal.status, "won")
        self.assertEqual(deal.amount, Decimal("99000"))
        self.assertEqual(deal.closed_at, datetime(2025, 7, 7, 9, tzinfo=UTC))

    def test_unknown_owners_are_reported_and_can_be_assigned(self) -> None:
        files = generate_salesforce_export(self.tmp / "x", deals=6, owners=2)
        outcome = run(self.workspace, self.plan(files))
        self.assertEqual(set(outcome.result.unknown_owners), {"Rep 1", "Rep 2"})
        self.assertFalse(Deal.objects.filter(source="salesforce", owner__isnull=False).exists())
        assigned = run(
            self.workspace,
            self.plan(files),
            assign_owners={"Rep 1": self.rep_b.email, "rep2@example.com": self.rep_a.email},
        )
        self.assertEqual(assigned.result.unknown_owners, {})
        self.assertEqual(assigned.result.updated, 6)
        self.assertFalse(Deal.objects.filter(source="salesforce", owner__isnull=True).exists())

    def test_a_report_export_with_label_headers_is_detected(self) -> None:
        plan = salesforce_plan(
            opportunities=EXAMPLES / "salesforce-report" / "opportunities-report.csv"
        )
        self.assertIn("report", plan.format_label)
        outcome = run(self.workspace, plan)
        self.assertEqual(outcome.result.created, 4)
        won = Deal.objects.get(source="salesforce", name="Contoso renewal")
        self.assertEqual((won.status, won.amount), ("won", Decimal("12500")))
        self.assertEqual(str(won.close_date), "2025-05-30")
        assert won.account is not None
        self.assertEqual(won.account.name, "Contoso Ltd")


class HubSpotImportTests(PersonasTestCase):
    def test_stage_history_is_rebuilt_from_date_entered_columns(self) -> None:
        outcome = run(self.workspace, hubspot_plan(deals=EXAMPLES / "hubspot" / "deals.csv"))
        self.assertEqual(outcome.result.created, 5)
        deal = Deal.objects.get(source="hubspot", external_id="9001")
        steps = [s.to_stage.name for s in deal.stage_changes.order_by("changed_at")]
        self.assertEqual(
            steps,
            [
                "Appointment Scheduled",
                "Qualified To Buy",
                "Presentation Scheduled",
                "Contract Sent",
            ],
        )
        self.assertEqual(deal.stage_entered_at, datetime(2025, 6, 2, 11, tzinfo=UTC))
        self.assertEqual(deal.amount, Decimal("48000"))
        lost = Deal.objects.get(source="hubspot", external_id="9003")
        self.assertEqual(
            (lost.status, lost.closed_at), ("lost", datetime(2025, 4, 15, 9, tzinfo=UTC))
        )
        again = run(self.workspace, hubspot_plan(deals=EXAMPLES / "hubspot" / "deals.csv"))
        self.assertEqual((again.result.created, again.result.updated), (0, 0))
        self.assertEqual(again.result.history_added, 0)


class MappedCsvTests(TempDirMixin, PersonasTestCase):
    def test_the_example_mapping_reads_european_forms_and_long_history(self) -> None:
        mapping = Mapping.from_toml(EXAMPLES / "csv" / "mapping.toml")
        plan = csv_plan(
            mapping=mapping,
            deals=EXAMPLES / "csv" / "deals.csv",
            history=EXAMPLES / "csv" / "history.csv",
        )
        outcome = run(self.workspace, plan)
        self.assertEqual(outcome.run.status, RunStatus.DONE, outcome.run.message)
        deal = Deal.objects.get(source="smallcrm", external_id="D-102")
        self.assertEqual(deal.amount, Decimal("7250.50"))
        self.assertEqual(str(deal.close_date), "2025-05-30")
        self.assertEqual(deal.status, "won")
        self.assertEqual(deal.custom, {"Industry": "Transport"})
        self.assertEqual(deal.stage_changes.count(), 3)
        self.assertEqual(outcome.result.history_added, 10)

    def mapping(self, **extra: Any) -> Mapping:
        data = {
            "source": "t",
            "columns": {"external_id": "id", "name": "name", "stage": "stage", "amount": "amount"},
            "stages": {"order": ["Open", "Won"], "won": ["Won"]},
        }
        data.update(extra)
        return Mapping.from_dict(data)

    def test_identical_duplicates_merge_and_conflicting_ones_are_reported(self) -> None:
        path = self.write(
            "d.csv",
            "id,name,stage,amount\n1,A,Open,5\n1,A,Open,5\n2,B,Open,5\n2,B,Won,9\n3,C,Open,1\n",
        )
        strict = run(self.workspace, csv_plan(mapping=self.mapping(), deals=path))
        self.assertEqual(strict.run.status, RunStatus.REJECTED)
        self.assertEqual([p.line for p in strict.report.errors], [4, 5])
        self.assertIn("different values", strict.report.errors[0].reason)
        # The way out is named where the import's notes are shown (result page, CLI).
        self.assertIn("1 id value is on rows with different values", strict.run.summary["notes"][0])
        self.assertIn('on_conflict = "first"', strict.run.summary["notes"][0])
        skipped = run(self.workspace, csv_plan(mapping=self.mapping(), deals=path), strict=False)
        self.assertEqual(skipped.result.created, 2)
        self.assertEqual(skipped.result.merged_duplicates, 1)
        self.assertEqual(skipped.result.rejected, 2)
        self.assertFalse(Deal.objects.filter(source="t", external_id="2").exists())

    def test_problems_are_stored_with_their_rows_for_the_rejected_csv(self) -> None:
        path = self.write("d.csv", "id,name,stage,amount\n1,A,Open,five\n2,B,Nope,1\n3,C,Open,2\n")
        outcome = run(self.workspace, csv_plan(mapping=self.mapping(), deals=path), strict=False)
        self.assertEqual(outcome.result.created, 1)
        problems = ImportProblem.objects.filter(run=outcome.run, severity="error")
        self.assertEqual(
            [(p.line, p.column, p.value) for p in problems],
            [(2, "amount", "five"), (3, "stage", "Nope")],
        )
        self.assertEqual(
            problems[0].row, {"id": "1", "name": "A", "stage": "Open", "amount": "five"}
        )
        self.assertEqual(stored(self.workspace)[0], 3 + 1)  # the personas own three


class InterruptedImportTests(TempDirMixin, PersonasTestCase):
    def test_an_import_that_dies_half_way_leaves_nothing_and_a_rerun_completes_it(self) -> None:
        from unittest import mock

        from unstuck.imports import staging

        files = generate_salesforce_export(self.tmp / "sf", deals=8)

        def plan() -> ImportPlan:
            return salesforce_plan(
                opportunities=files.opportunities, history=files.history, users=files.users
            )

        before = stored(self.workspace)
        real = staging.execute

        def dies_after_the_deals(sql: str, params: Any = ()) -> int:
            if sql.startswith("INSERT INTO deals_stagechange"):
                raise ConnectionError("server closed the connection unexpectedly")
            return real(sql, params)

        with (
            mock.patch.object(staging, "execute", dies_after_the_deals),
            self.assertRaises(ConnectionError),
        ):
            run(self.workspace, plan())
        self.assertEqual(stored(self.workspace), before)
        failed = ImportRun.objects.latest("pk")
        self.assertEqual(failed.status, RunStatus.FAILED)
        self.assertIn("nothing was written", failed.message)
        again = run(self.workspace, plan())
        self.assertEqual(again.result.created, 8)
        self.assertEqual(again.result.history_added, files.history_rows)


class SalesforceRelatedFilesTests(TempDirMixin, PersonasTestCase):
    def test_contacts_roles_and_tasks_come_in_once(self) -> None:
        from unstuck.deals.models import Activity, Contact, Stakeholder

        files = generate_salesforce_export(self.tmp / "sf", deals=10, related=True)
        assert files.contacts and files.contact_roles and files.tasks

        def plan() -> ImportPlan:
            return salesforce_plan(
                opportunities=files.opportunities,
                history=files.history,
                accounts=files.accounts,
                contacts=files.contacts,
                contact_roles=files.contact_roles,
                activities=files.tasks,
            )

        first = run(self.workspace, plan())
        self.assertEqual(first.run.status, RunStatus.DONE, first.run.message)
        self.assertEqual(first.result.related["activities"], 20)
        self.assertEqual(Contact.objects.filter(source="salesforce").count(), 6)
        self.assertEqual(Stakeholder.objects.filter(deal__source="salesforce").count(), 10)
        self.assertEqual(Activity.objects.filter(deal__source="salesforce").count(), 20)
        again = run(self.workspace, plan())
        self.assertEqual(again.result.related, {"contacts": 0, "stakeholders": 0, "activities": 0})
        self.assertEqual((again.result.created, again.result.updated), (0, 0))
        self.assertEqual(Activity.objects.filter(deal__source="salesforce").count(), 20)
