"""PostgreSQL reads clean exports itself (COPY) and bulk-loads large ones; the results must be
exactly those of the row-by-row path, and anything COPY cannot read goes back to that path."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import Any
from unittest import mock

from django.db import connection

from unstuck.core.testing import PersonasTestCase
from unstuck.deals.models import Deal, StageChange
from unstuck.imports import bulk
from unstuck.imports.copy_stage import copy_source
from unstuck.imports.generator import generate_salesforce_export
from unstuck.imports.models import ImportProblem, RunStatus
from unstuck.imports.readers.crm import salesforce_plan
from unstuck.imports.tests.helpers import TempDirMixin, run, stored

PG = connection.vendor == "postgresql"
EXPECTED_PATH = "copy" if PG else "rows"


def snapshot(workspace: Any) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Deals and history as a user sees them: by CRM id and stage name, not database ids."""
    deals = sorted(
        (
            d.external_id,
            d.name,
            d.account.external_id if d.account else None,
            d.owner_id,
            d.team_id,
            d.pipeline.name,
            d.stage.name,
            d.status,
            d.amount,
            d.currency,
            d.close_date,
            d.created_at,
            d.closed_at,
            d.stage_entered_at,
            d.last_activity_at,
            d.next_step,
            d.custom,
        )
        for d in Deal.objects.filter(workspace=workspace, source="salesforce").select_related(
            "account", "pipeline", "stage"
        )
    )
    steps = sorted(
        (
            s.deal.external_id,
            s.changed_at,
            s.from_stage.name if s.from_stage else None,
            s.to_stage.name,
            s.amount,
            s.close_date,
            s.source,
        )
        for s in StageChange.objects.filter(
            deal__workspace=workspace, deal__source="salesforce"
        ).select_related("deal", "from_stage", "to_stage")
    )
    return deals, steps


def indexes_and_keys() -> set[tuple[str, str]]:
    with connection.cursor() as cursor:
        if not PG:
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                "AND tbl_name IN ('deals_deal', 'deals_stagechange')"
            )
            return set(cursor.fetchall())
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes "
            "WHERE tablename IN ('deals_deal', 'deals_stagechange') "
            "UNION ALL SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid IN ('deals_deal'::regclass, 'deals_stagechange'::regclass)"
        )
        return set(cursor.fetchall())


class CopyStagingTests(TempDirMixin, PersonasTestCase):
    def plan(self, files: Any) -> Any:
        return salesforce_plan(
            opportunities=files.opportunities,
            history=files.history,
            accounts=files.accounts,
            users=files.users,
        )

    def export(self, deals: int = 40) -> Any:
        owners = [(u.email, u.name) for u in (self.rep_a, self.rep_b)] + [("x@y.z", "Nobody")]
        return generate_salesforce_export(self.tmp / "sf", deals=deals, owner_emails=owners)

    def import_both_ways(self, files: Any) -> tuple[Any, Any]:
        """Import by the default path, then again row by row into a clean workspace."""
        first = run(self.workspace, self.plan(files))
        self.assertEqual(first.run.status, RunStatus.DONE, first.run.message)
        self.assertEqual(first.result.staged_by, EXPECTED_PATH)
        by_default = snapshot(self.workspace)
        Deal.objects.filter(workspace=self.workspace, source="salesforce").delete()
        with mock.patch("unstuck.imports.services.copy_source", return_value=None):
            second = run(self.workspace, self.plan(files))
        self.assertEqual(second.result.staged_by, "rows")
        self.assertEqual(
            (first.result.created, first.result.history_added, first.result.unknown_owners),
            (second.result.created, second.result.history_added, second.result.unknown_owners),
        )
        return by_default, snapshot(self.workspace)

    def test_copy_and_row_by_row_store_the_same_deals_and_history(self) -> None:
        by_default, row_by_row = self.import_both_ways(self.export())
        self.assertEqual(len(by_default[0]), 40)
        self.assertGreater(len(by_default[1]), 120)
        self.assertEqual(by_default, row_by_row)

    def test_a_value_copy_cannot_read_goes_back_to_the_rows_and_is_reported(self) -> None:
        files = self.export(deals=10)
        lines = files.opportunities.read_text().splitlines()
        cells = lines[3].split(",")
        cells[7] = "31.02.2024"  # CloseDate: no such day
        lines[3] = ",".join(cells)
        files.opportunities.write_text("\r\n".join(lines) + "\r\n")
        before = stored(self.workspace)
        # On PostgreSQL, COPY hands the file back to the row-by-row path, which reports it.
        watch = self.assertLogs("unstuck.imports.loader", "INFO") if PG else nullcontext()
        with watch as logs:
            outcome = run(self.workspace, self.plan(files))
        self.assertEqual(outcome.run.status, RunStatus.REJECTED)
        if logs is not None:
            self.assertIn("reading the files row by row", logs.output[0])
        problem = ImportProblem.objects.get(run=outcome.run, severity="error")
        self.assertEqual(
            (problem.line, problem.column, problem.value), (4, "CloseDate", "31.02.2024")
        )
        self.assertEqual(stored(self.workspace), before)

    def test_reports_name_the_physical_line_when_a_cell_spans_lines(self) -> None:
        files = self.export(deals=6)
        header, *rows = files.opportunities.read_text().splitlines()
        cells = rows[1].split(",")
        cells[9] = '"Call the CFO\nthen send the proposal"'  # NextStep over two lines
        rows[1] = ",".join(cells)
        rows.append(rows[4].replace("Opportunity 5", "Opportunity 5 renamed"))  # same Id
        files.opportunities.write_text("\r\n".join([header, *rows]) + "\r\n")
        # On PostgreSQL COPY reads this file (it does not hand it back to the rows).
        with self.assertNoLogs("unstuck.imports.loader", "INFO"):
            outcome = run(self.workspace, self.plan(files))
        self.assertEqual(outcome.run.status, RunStatus.REJECTED)
        # Row 5 ends on line 7 (row 2 takes two lines); its repeat is the last row, line 9.
        self.assertEqual(
            sorted(p.line for p in ImportProblem.objects.filter(run=outcome.run)), [7, 9]
        )

    def test_bulk_mode_rebuilds_every_index_and_key_and_stores_the_same(self) -> None:
        before = indexes_and_keys()
        self.assertGreater(len(before), 5)
        with (
            mock.patch.object(bulk, "BULK_ROWS", 1),
            self.assertLogs("unstuck.imports.loader", "DEBUG") as logs,
        ):
            by_bulk, row_by_row = self.import_both_ways(self.export())
        self.assertTrue(any("bulk mode on deals_deal, deals_stagechange" in m for m in logs.output))
        self.assertEqual(by_bulk, row_by_row)
        self.assertEqual(indexes_and_keys(), before)


class AbandonedHistoryTableTests(TempDirMixin, PersonasTestCase):
    def test_tables_of_dead_imports_are_dropped_and_those_in_use_kept(self) -> None:
        if not PG:
            # SQLite imports read row by row and share no tables between connections.
            files = generate_salesforce_export(Path(self.tmp) / "sf", deals=3)
            self.assertIsNone(copy_source(salesforce_plan(opportunities=files.opportunities)))
            return
        import psycopg

        from unstuck.imports.copy_stage import SHARED_PREFIX, _drop_abandoned

        dead, alive = f"{SHARED_PREFIX}101", f"{SHARED_PREFIX}202"
        with connection.cursor() as cursor:
            for name in (dead, alive):
                cursor.execute(f"CREATE UNLOGGED TABLE {name} (line integer)")
        # Another import, on another connection, still holds the lock on its table.
        with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
            other.execute("SELECT pg_advisory_lock(202)")
            _drop_abandoned()
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT relname FROM pg_class WHERE relname IN (%s, %s)", [dead, alive]
                )
                self.assertEqual([r[0] for r in cursor.fetchall()], [alive])
