"""`unstuck import …` as a person at a terminal uses it: output, exit codes, the recompute."""

from __future__ import annotations

import io

from django.core.management import call_command
from django.core.management.base import CommandError
from django_tasks_db.models import DBTaskResult

from unstuck.core.testing import PersonasTestCase
from unstuck.deals.models import Deal
from unstuck.imports.models import ImportRun
from unstuck.imports.tests.helpers import EXAMPLES, TempDirMixin, stored


class ImportCommandTests(TempDirMixin, PersonasTestCase):
    def call(self, *args: str) -> tuple[int, str]:
        out = io.StringIO()
        try:
            call_command("import", *args, "--no-progress", stdout=out, stderr=io.StringIO())
        except SystemExit as exc:
            return int(exc.code or 0), out.getvalue()
        return 0, out.getvalue()

    def test_hubspot_import_reports_counts_and_unknown_owners(self) -> None:
        with self.captureOnCommitCallbacks(execute=True):
            code, out = self.call(
                "hubspot", "--workspace", "acme", "--deals", str(EXAMPLES / "hubspot" / "deals.csv")
            )
        self.assertEqual(code, 0, out)
        self.assertIn("5 deals created", out)
        self.assertIn("Avery Stone (3)", out)
        self.assertEqual(ImportRun.objects.get().via, "cli")
        # The recompute of what depends on the data is queued once the import commits.
        self.assertTrue(
            DBTaskResult.objects.filter(task_path__endswith="recompute_after_import").exists()
        )

    def test_strict_import_with_bad_rows_exits_2_and_writes_nothing(self) -> None:
        mapping = self.write(
            "m.toml",
            '[columns]\nexternal_id = "id"\nstage = "stage"\namount = "amount"\n',
        )
        deals = self.write("d.csv", "id,stage,amount\n1,Open,5\n2,Open,lots\n")
        before = stored(self.workspace)
        code, out = self.call("csv", "--workspace", "acme", "--mapping", str(mapping), str(deals))
        self.assertEqual(code, 2)
        self.assertIn("d.csv, line 3, column 'amount': 'lots': not an amount", out)
        self.assertIn("Nothing was written", out)
        self.assertEqual(stored(self.workspace), before)
        code, out = self.call(
            "csv", "--workspace", "acme", "--mapping", str(mapping), str(deals), "--skip-invalid"
        )
        self.assertEqual(code, 2)
        self.assertIn("1 deals created", out)
        self.assertTrue(Deal.objects.filter(source="csv", external_id="1").exists())

    def test_a_missing_column_fails_with_exit_1(self) -> None:
        mapping = self.write("m.toml", '[columns]\nexternal_id = "id"\nstage = "stage"\n')
        deals = self.write("d.csv", "id,phase\n1,Open\n")
        code, out = self.call("csv", "--workspace", "acme", "--mapping", str(mapping), str(deals))
        self.assertEqual(code, 1)
        self.assertIn("missing required column(s): stage. Headers found: id, phase.", out)

    def test_an_unknown_workspace_is_refused(self) -> None:
        with self.assertRaisesMessage(CommandError, "No workspace 'nope'"):
            call_command("import", "hubspot", "--workspace", "nope", "--deals",
                         str(EXAMPLES / "hubspot" / "deals.csv"))  # fmt: skip


class RecomputeAfterImportTests(PersonasTestCase):
    def test_the_task_scores_the_imported_deals(self) -> None:
        from unstuck.imports.tasks import recompute_after_import
        from unstuck.investigate.models import DealAssessment

        self.assertFalse(DealAssessment.objects.exists())
        result = recompute_after_import.call(self.workspace.pk)
        self.assertEqual(result["assessed"], 3)
        self.assertEqual(
            set(DealAssessment.objects.values_list("deal_id", flat=True)),
            {self.deal_a.pk, self.deal_a2.pk, self.deal_b.pk},
        )
