"""SQLite stays writable while an import reads its files (issue 15, item 5): the import takes
the database's write lock only for its final write, so another process can write meanwhile."""

from __future__ import annotations

import sqlite3
import unittest
from collections.abc import Iterator
from typing import Any

from django.db import connection
from django.test import TransactionTestCase

from unstuck.core.models import Workspace
from unstuck.deals.models import Deal
from unstuck.imports.models import RunStatus
from unstuck.imports.readers.crm import hubspot_plan
from unstuck.imports.services import import_run_execute, import_run_start
from unstuck.imports.tests.helpers import EXAMPLES


def _another_writer_gets_the_lock() -> bool:
    """Whether a second connection to the same database can start writing at once."""
    name = str(connection.settings_dict["NAME"])  # the test database's URI
    other = sqlite3.connect(name, uri=True, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        other.close()


@unittest.skipUnless(connection.vendor == "sqlite", "SQLite's single writer")
class SqliteImportLockTests(TransactionTestCase):
    def test_another_process_can_write_while_the_files_are_read(self) -> None:
        workspace = Workspace.objects.create(name="W", slug="w")
        plan = hubspot_plan(deals=EXAMPLES / "hubspot" / "deals.csv")
        seen: list[bool] = []
        rows = plan.deal_rows

        def probing(report: Any) -> Iterator[Any]:
            for row in rows(report):
                seen.append(_another_writer_gets_the_lock())
                yield row

        plan.deal_rows = probing  # type: ignore[method-assign]
        run = import_run_start(workspace=workspace, by=None, plan=plan)
        outcome = import_run_execute(run=run, plan=plan)
        self.assertEqual(outcome.run.status, RunStatus.DONE, outcome.run.message)
        self.assertEqual(Deal.objects.filter(workspace=workspace).count(), 5)
        self.assertTrue(seen)
        self.assertTrue(all(seen), "the import held the write lock while reading its files")
