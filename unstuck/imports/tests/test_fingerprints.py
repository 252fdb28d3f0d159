"""A re-import leaves the deals whose rows, history and context did not change alone, without
staging them (PostgreSQL's COPY path), and still changes exactly what the full path would."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any
from unittest import mock

from django.db import connection

from unstuck.core.testing import PersonasTestCase
from unstuck.deals.models import Deal, StageChange
from unstuck.imports.models import RunStatus
from unstuck.imports.tests.helpers import SalesforceExportMixin, run
from unstuck.imports.tests.test_copy_stage import snapshot

PG = connection.vendor == "postgresql"


class FingerprintTests(SalesforceExportMixin, PersonasTestCase):
    def edit(self, path: Any, change: Any, extra: Sequence[list[str]] = ()) -> None:
        """Rewrite a CSV: change(row, columns) may edit each row; extra rows are appended."""
        text = path.read_text()
        rows = list(csv.reader(io.StringIO(text)))
        col = {h: i for i, h in enumerate(rows[0])}
        for row in rows[1:]:
            change(row, col)
        out = io.StringIO()
        csv.writer(out, lineterminator="\r\n").writerows([*rows, *extra])
        path.write_text(out.getvalue())

    def test_unchanged_files_stage_nothing_and_change_nothing(self) -> None:
        first = self.load()
        before = snapshot(self.workspace)
        stamps = dict(Deal.objects.values_list("external_id", "updated_at"))
        outcome = run(self.workspace, self.plan())
        again = outcome.result
        if PG:
            # The very same files: not even read into the database.
            self.assertEqual(again.skipped, 30)
            self.assertIn("nothing to import", " ".join(outcome.report.notes))
        self.assertEqual((again.created, again.updated, again.unchanged), (0, 0, 30))
        self.assertEqual(again.history_added, 0)
        self.assertEqual(snapshot(self.workspace), before)
        self.assertEqual(dict(Deal.objects.values_list("external_id", "updated_at")), stamps)
        self.assertEqual(first.created, 30)

    def test_the_same_rows_uploaded_to_another_folder_are_still_recognised(self) -> None:
        self.load()
        moved = self.tmp / "elsewhere"
        moved.mkdir()
        for name in ("opportunities", "history", "accounts", "users"):
            path = getattr(self.files, name)
            setattr(self.files, name, path.rename(moved / path.name))
        self.edit(self.files.opportunities, lambda row, col: None)  # rewritten, same rows
        again = self.load()
        if PG:
            self.assertEqual(again.skipped, 30)
        self.assertEqual((again.updated, again.unchanged), (0, 30))

    def test_a_changed_row_updates_exactly_that_deal_and_adds_its_history(self) -> None:
        self.load()
        target = "006000000000000007"

        def bump(row: list[str], col: dict[str, int]) -> None:
            if row[col["Id"]] == target:
                row[col["Amount"]] = "123456"

        self.edit(self.files.opportunities, bump)
        deal = Deal.objects.get(external_id=target)
        new_step = [
            "008999999999999999", target, "", "2029-06-01T00:00:00.000Z", deal.stage.name,
            "123456", "", str(deal.close_date or ""), "50", "Pipeline", "false",
        ]  # fmt: skip
        self.edit(self.files.history, lambda row, col: None, extra=[new_step])
        again = self.load()
        if PG:
            self.assertEqual(again.skipped, 29)
        self.assertEqual((again.created, again.updated, again.unchanged), (0, 1, 29))
        self.assertEqual(again.history_added, 1)
        deal.refresh_from_db()
        self.assertEqual(deal.amount, 123456)
        self.assertTrue(StageChange.objects.filter(deal=deal, amount=123456).exists())

    def test_a_deal_moved_in_the_app_is_put_back_as_the_full_path_would(self) -> None:
        self.load()
        deal, crm_stage = self.move_an_imported_deal_in_the_app()
        again = self.load()
        if PG:
            self.assertEqual(again.skipped, 29)
        self.assertEqual(again.updated, 1)
        deal.refresh_from_db()
        self.assertEqual(deal.stage, crm_stage)

    def test_a_new_member_changes_the_context_and_every_row_is_read_again(self) -> None:
        self.load()
        # "Nobody" owned some deals and was not a member; now they are.
        self.member("x@y.z", "rep", self.team_a)
        again = self.load()
        self.assertEqual(again.skipped, 0)
        self.assertGreater(again.updated, 0)
        self.assertTrue(
            Deal.objects.filter(workspace=self.workspace, owner__email="x@y.z").exists()
        )

    def test_a_repeated_id_is_decided_by_the_loader_even_if_one_row_is_unchanged(self) -> None:
        self.load()
        lines = self.files.opportunities.read_text().splitlines()
        twin = lines[3].split(",")
        twin[5] = "999"  # the same Id with another Amount, appended
        self.files.opportunities.write_text("\r\n".join([*lines, ",".join(twin)]) + "\r\n")
        outcome = run(self.workspace, self.plan())
        # Strict mode refuses the conflicting rows, as it would on a first import.
        self.assertEqual(outcome.run.status, RunStatus.REJECTED)

    def test_the_row_path_stores_no_fingerprints_and_the_next_copy_import_reads_all(
        self,
    ) -> None:
        with mock.patch("unstuck.imports.services.copy_source", return_value=None):
            self.load()
        self.assertFalse(Deal.objects.filter(import_hash__isnull=False).exists())
        again = self.load()
        self.assertEqual((again.skipped, again.updated, again.unchanged), (0, 0, 30))
        if PG:
            # Now fingerprinted: the next one skips them all.
            self.assertEqual(Deal.objects.filter(import_hash__isnull=False).count(), 30)
            self.assertEqual(self.load().skipped, 30)
