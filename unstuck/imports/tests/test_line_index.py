"""A re-import compares its files' lines with the last import's (lines.py) and copies only the
lines of the deals they touch; it writes exactly what the import that copies the files
whole writes. Each test runs the re-import both ways from the same state and compares."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

from django.db import connection, transaction

from unstuck.core.testing import PersonasTestCase
from unstuck.deals.models import Deal
from unstuck.imports.lines import _unpack, index_file
from unstuck.imports.models import ImportProblem, LineIndex, RunStatus
from unstuck.imports.tests.helpers import SalesforceExportMixin, run
from unstuck.imports.tests.test_copy_stage import snapshot

PG = connection.vendor == "postgresql"
TARGET = "006000000000000007"


def edit_lines(path: Path, change: Callable[[list[bytes]], list[bytes]]) -> None:
    """Rewrite a file's data lines (bytes, line breaks kept), the header first as it was."""
    head, *rest = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(head + b"".join(change(rest)))


def edit_cell(line: bytes, column: int, value: str) -> bytes:
    row = next(csv.reader([line.decode()]))
    row[column] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(row)
    return out.getvalue().encode()


class LineIndexTests(SalesforceExportMixin, PersonasTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.first = self.load()

    def both_ways(self) -> tuple[dict[str, Any], str]:
        """The re-import with the line index, then (rolled back to before it) the same
        import copying the files whole: each one's outcome must be the same. Returns what
        came of it and what the loader logged about the lines."""

        def outcome() -> dict[str, Any]:
            done = run(self.workspace, self.plan())
            r = done.result
            return {
                "status": done.run.status,
                "counts": (r.created, r.updated, r.unchanged, r.history_added, r.rejected),
                "owners": r.unknown_owners,
                "rows_read": done.report.rows_read,
                "problems": sorted(
                    ImportProblem.objects.filter(run=done.run).values_list(
                        "file", "line", "value", "reason"
                    )
                ),
                "stored": snapshot(self.workspace),
            }

        point = transaction.savepoint()
        with self.assertLogs("unstuck.imports.loader", "DEBUG") as logs:
            fast = outcome()
        transaction.savepoint_rollback(point)
        with mock.patch("unstuck.imports.lines.select", return_value=None):
            whole = outcome()
        self.assertEqual(fast, whole)
        said = " ".join(m for m in logs.output if "line index:" in m)
        if PG:
            self.assertIn("line index:", said)  # the lines were compared, not copied whole
        return fast, said

    def copied(self, said: str) -> int:
        found = re.search(r"line index: (\d+) of", said)
        assert found is not None
        return int(found.group(1))

    def history_lines_of(self, deal: str) -> int:
        return sum(1 for ln in self.files.history.read_bytes().splitlines() if deal.encode() in ln)

    def test_the_first_import_leaves_an_index_of_every_line(self) -> None:
        if not PG:
            self.assertFalse(LineIndex.objects.exists())
            return
        index = LineIndex.objects.get(workspace=self.workspace)
        history_lines = len(self.files.history.read_bytes().splitlines()) - 1
        arrays = _unpack(index_file(self.workspace.pk, "salesforce", index.token))
        self.assertEqual(len(arrays["deal_h"]), 30)
        self.assertEqual(len(arrays["hist_h"]), history_lines)
        # The deals of the owner who is no member are remembered, to count them again.
        self.assertEqual(len(arrays["owner_h"]), self.first.unknown_owners["Nobody"])

    def test_a_changed_row_copies_that_deals_lines_only(self) -> None:
        edit_lines(
            self.files.opportunities,
            lambda rows: [edit_cell(r, 5, "123456") if r.startswith(TARGET.encode()) else r
                          for r in rows],
        )  # fmt: skip
        fast, said = self.both_ways()
        self.assertEqual(fast["counts"], (0, 1, 29, 0, 0))
        self.assertEqual(fast["owners"], self.first.unknown_owners)
        if PG:
            self.assertEqual(self.copied(said), 1 + self.history_lines_of(TARGET))
        self.assertEqual(Deal.objects.get(external_id=TARGET).amount, 123456)

    def test_a_changed_history_line_touches_its_deal_only(self) -> None:
        def change(rows: list[bytes]) -> list[bytes]:
            mine = [i for i, r in enumerate(rows) if TARGET.encode() in r]
            # The first step of its history, dated otherwise: a step the deal did not have.
            rows[mine[0]] = edit_cell(rows[mine[0]], 3, "2020-06-01T00:00:00.000Z")
            return rows

        edit_lines(self.files.history, change)
        fast, said = self.both_ways()
        self.assertGreaterEqual(fast["counts"][3], 1)
        if PG:
            self.assertEqual(self.copied(said), 1 + self.history_lines_of(TARGET))

    def test_a_deleted_history_line_touches_its_deal(self) -> None:
        def drop(rows: list[bytes]) -> list[bytes]:
            mine = [i for i, r in enumerate(rows) if TARGET.encode() in r]
            return [r for i, r in enumerate(rows) if i != mine[-1]]

        before = self.history_lines_of(TARGET)
        edit_lines(self.files.history, drop)
        fast, said = self.both_ways()
        # History is never deleted by an import; nothing else changes either.
        self.assertEqual(fast["counts"], (0, 0, 30, 0, 0))
        if PG:
            self.assertEqual(self.copied(said), 1 + before - 1)

    def test_reordered_lines_copy_nothing_and_change_nothing(self) -> None:
        before = snapshot(self.workspace)
        edit_lines(self.files.opportunities, lambda rows: rows[::-1])
        edit_lines(self.files.history, lambda rows: rows[::-1])
        fast, said = self.both_ways()
        self.assertEqual(fast["counts"], (0, 0, 30, 0, 0))
        self.assertEqual(fast["stored"], before)
        self.assertEqual(fast["owners"], self.first.unknown_owners)
        if PG:
            self.assertEqual(self.copied(said), 0)

    def test_a_deal_edited_in_the_app_takes_the_full_path(self) -> None:
        deal, crm_stage = self.move_an_imported_deal_in_the_app()
        # Another deal's row changes too, so that the files are not the very same again.
        edit_lines(
            self.files.opportunities,
            lambda rows: [edit_cell(r, 5, "777") if r.startswith(TARGET.encode()) else r
                          for r in rows],
        )  # fmt: skip
        fast, said = self.both_ways()
        self.assertEqual(fast["counts"][:2], (0, 2))
        deal.refresh_from_db()
        self.assertEqual(deal.stage, crm_stage)
        if PG:
            lines = 2 + self.history_lines_of(TARGET) + self.history_lines_of(deal.external_id)
            self.assertEqual(self.copied(said), lines)

    def test_problems_in_changed_lines_name_their_lines(self) -> None:
        ghost = "006999999999999999"

        def add(rows: list[bytes]) -> list[bytes]:
            stray = edit_cell(rows[4], 1, ghost)  # a history line of a deal not in the file
            return [*rows[:10], stray, *rows[10:]]

        edit_lines(self.files.history, add)
        fast, _ = self.both_ways()
        self.assertEqual(fast["status"], RunStatus.REJECTED)
        # Line 12 of the file: the header, ten lines, then this one.
        self.assertEqual([(p[1], p[2]) for p in fast["problems"]], [(12, ghost)])

    def test_a_removed_deal_row_reports_its_history_as_the_full_path_does(self) -> None:
        mine = TARGET.encode()
        edit_lines(self.files.opportunities, lambda rows: [r for r in rows if mine not in r])
        fast, _ = self.both_ways()
        self.assertEqual(fast["status"], RunStatus.REJECTED)
        self.assertEqual(len(fast["problems"]), self.history_lines_of(TARGET))
