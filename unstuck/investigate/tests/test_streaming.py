"""Diagnose at scale reads its rows as a stream, worst first, and a deal page reads one
deal's signals (issue 16): the same answers as the whole-workspace statement, in the
order the CLI prints, without holding every row."""

from __future__ import annotations

import json
from decimal import Decimal
from io import StringIO
from typing import Any
from unittest import skipUnless

from django.core.management import call_command
from django.db import connection
from django.test import TransactionTestCase
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from unstuck.deals.models import Activity
from unstuck.investigate import stall_signals as signals
from unstuck.investigate.benchmarks import benchmarks_recompute
from unstuck.investigate.selectors import diagnosis, iter_diagnosis
from unstuck.investigate.services import assessments_recompute
from unstuck.investigate.sql import analytic_transaction, refresh_statistics
from unstuck.investigate.stall_signals import iter_signal_rows, signal_rows
from unstuck.investigate.tests.helpers import InvestigateCase, ago


def _rounded(row: dict[str, Any]) -> dict[str, Any]:
    """A row without the microseconds between two statements' "now"."""
    return {k: round(float(v), 2) if isinstance(v, float | Decimal) else v for k, v in row.items()}


class StreamingTests(InvestigateCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        # A few open deals with different histories, so scores and amounts differ.
        for days, amount in ((90, 5000), (40, 90000), (2, 20000), (90, 70000)):
            deal = cls.make_deal(owner=cls.rep_a, created_at=ago(days + 5), amount=amount)
            cls.move(deal, cls.stages[1], ago(days))
            if days < 10:  # a healthy one: moved recently, in touch yesterday
                Activity.objects.create(deal=deal, kind="call", occurred_at=ago(1))
        benchmarks_recompute(workspace=cls.workspace)

    def test_one_deal_gets_the_row_the_workspace_statement_gives_it(self) -> None:
        everyone = {r["deal_id"]: r for r in signal_rows(self.workspace)}
        self.assertGreater(len(everyone), 3)
        for deal_id, row in everyone.items():
            alone = signal_rows(self.workspace, deal_id=deal_id)
            self.assertEqual(len(alone), 1)
            self.assertEqual(_rounded(alone[0]), _rounded(row))

    def test_one_deal_statement_reads_only_that_deal(self) -> None:
        deal_id = next(iter(r["deal_id"] for r in signal_rows(self.workspace)))
        sql, params, _ = signals.signal_statement(self.workspace, deal_id=deal_id)
        # Each table of history is narrowed to the deal, not joined whole to the snapshot.
        for alias in ("sc", "a", "s"):
            self.assertIn(f"{alias}.deal_id = %s", sql)
        # The snapshot, the history, the activities and the committee.
        self.assertGreaterEqual(params.count(deal_id), 4)

    def test_stream_is_worst_first_and_the_same_rows(self) -> None:
        streamed = list(iter_signal_rows(self.workspace, chunk_size=2))
        whole = signal_rows(self.workspace)
        self.assertEqual(
            sorted(r["deal_id"] for r in streamed), sorted(r["deal_id"] for r in whole)
        )
        keys = [(-r["stall_score"], -(r["amount_now"] or 0), r["deal_id"]) for r in streamed]
        self.assertEqual(keys, sorted(keys))
        self.assertGreater(len({r["stall_score"] for r in streamed}), 1)

    def test_min_score_is_applied_in_the_database(self) -> None:
        scores = sorted({r["stall_score"] for r in signal_rows(self.workspace)})
        cut = scores[len(scores) // 2]
        kept = list(iter_signal_rows(self.workspace, min_score=cut))
        self.assertTrue(kept)
        self.assertTrue(all(r["stall_score"] >= cut for r in kept))
        self.assertEqual(
            len(kept), sum(1 for r in signal_rows(self.workspace) if r["stall_score"] >= cut)
        )

    def test_diagnosis_list_is_the_stream(self) -> None:
        self.assertEqual(
            diagnosis(None, self.workspace), list(iter_diagnosis(None, self.workspace))
        )

    def test_json_output_is_one_document_worst_first(self) -> None:
        out = StringIO()
        call_command("diagnose", "--workspace", "acme", "--format", "json", stdout=out)
        payload = json.loads(out.getvalue())
        self.assertEqual(payload["workspace"], "acme")
        self.assertIsNone(payload["as_of"])
        self.assertEqual(payload["deals"], diagnosis(None, self.workspace))
        scores = [d["stall_score"] for d in payload["deals"]]
        self.assertEqual(scores, sorted(scores, reverse=True))

    def test_min_score_option_hides_lower_scores(self) -> None:
        top = diagnosis(None, self.workspace)[0]["stall_score"]
        out = StringIO()
        call_command(
            "diagnose", "--workspace", "acme", "--format", "json", "--min-score", str(top),
            stdout=out,
        )  # fmt: skip
        deals = json.loads(out.getvalue())["deals"]
        self.assertTrue(deals)
        self.assertTrue(all(d["stall_score"] >= top for d in deals))

    @skipUnless(connection.vendor == "postgresql", "a server-side cursor is PostgreSQL's")
    def test_stream_reads_through_a_server_side_cursor(self) -> None:
        with CaptureQueriesContext(connection):
            rows = iter_signal_rows(self.workspace, chunk_size=2)
            next(rows)
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM pg_cursors")
                open_cursors = cursor.fetchone()[0]
            rows.close()
        self.assertEqual(open_cursors, 1)


@skipUnless(connection.vendor == "postgresql", "planner statistics are PostgreSQL's")
class StatisticsTests(InvestigateCase):
    def test_recompute_leaves_fresh_statistics_for_the_queue(self) -> None:
        result = assessments_recompute(workspace=self.workspace)
        self.assertGreater(result.assessed, 0)
        with connection.cursor() as cursor:
            # ANALYZE writes the row count it saw into pg_class (in this transaction).
            cursor.execute(
                "SELECT reltuples FROM pg_class WHERE relname = 'investigate_dealassessment'"
            )
            (rows,) = cursor.fetchone()
        self.assertEqual(rows, result.assessed)


@skipUnless(connection.vendor == "postgresql", "the visibility map is PostgreSQL's")
class VacuumTests(TransactionTestCase):
    def test_outside_a_transaction_the_rewritten_table_is_vacuumed_too(self) -> None:
        # ANALYZE alone leaves the rewritten rows unmarked: the queue's summary then reads
        # the whole table instead of its covering index (an index-only scan needs VACUUM).
        with CaptureQueriesContext(connection) as queries:
            refresh_statistics("investigate_dealassessment")
        self.assertEqual(
            [q["sql"] for q in queries], ['VACUUM (ANALYZE) "investigate_dealassessment"']
        )


@skipUnless(connection.vendor == "postgresql", "planner settings are PostgreSQL's")
class AnalyticTransactionTests(InvestigateCase):
    def setting(self, name: str) -> str:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT current_setting('{name}')")
            return str(cursor.fetchone()[0])

    def test_whole_workspace_reads_plan_without_nested_loops(self) -> None:
        with analytic_transaction():
            self.assertEqual(self.setting("enable_nestloop"), "off")
            self.assertEqual(float(self.setting("cursor_tuple_fraction")), 1.0)
            self.assertEqual(self.setting("jit"), "off")

    def test_the_signal_statement_compiles_without_inlining_and_the_settings_come_back(
        self,
    ) -> None:
        # JIT without inlining cost less CPU than interpreting at 1,000,000 open deals (sql.py);
        # whether to compile at all is left to the server's cost thresholds.
        from unittest import mock

        seen: list[tuple[str, str]] = []

        def fetch(sql: str, params: Any) -> list[dict[str, Any]]:
            seen.append((self.setting("jit"), self.setting("jit_inline_above_cost")))
            return []

        before = (self.setting("jit"), self.setting("jit_inline_above_cost"))
        with mock.patch.object(signals, "fetch_dicts", side_effect=fetch):
            signals.signal_rows(self.workspace)
        self.assertEqual(seen, [("on", "-1")])
        self.assertEqual((self.setting("jit"), self.setting("jit_inline_above_cost")), before)

    def test_the_landmarks_statement_runs_without_jit_and_the_setting_comes_back(self) -> None:
        # Compiling the twelve landmarks' statement cost more CPU than running it (sql.py).
        from unittest import mock

        seen: list[str] = []

        def fetch(sql: str, params: Any) -> list[dict[str, Any]]:
            seen.append(self.setting("jit"))
            return []

        before = self.setting("jit")
        with mock.patch.object(signals, "fetch_dicts", side_effect=fetch):
            signals.landmark_signal_rows(self.workspace, [(timezone.now(), None)])
        self.assertEqual(seen, ["off"])
        self.assertEqual(self.setting("jit"), before)

    def test_the_callers_transaction_gets_its_settings_back(self) -> None:
        # A TestCase runs in a transaction, as a caller's atomic block would.
        before = self.setting("enable_nestloop")
        signal_rows(self.workspace)
        list(iter_signal_rows(self.workspace))
        self.assertEqual(self.setting("enable_nestloop"), before)
        self.assertEqual(self.setting("enable_nestloop"), "on")
