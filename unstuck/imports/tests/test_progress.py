"""A long import says how far it got and which step it is in: in the CLI's bar, on the import
page and in the API, through the run's progress file."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from unittest import mock

from unstuck.imports import bulk, loader, services, upsert
from unstuck.imports.generator import generate_salesforce_export
from unstuck.imports.models import ImportRun, RunStatus
from unstuck.imports.readers.crm import hubspot_plan, salesforce_plan
from unstuck.imports.services import import_run_execute, import_run_start, progress_path
from unstuck.imports.tests.test_interrupted import HUBSPOT, InterruptedBase

STEPS = [
    loader.PHASE_READING,
    loader.PHASE_CHECKING,
    loader.PHASE_MATCHING,
    upsert.PHASE_ORDERING,
    upsert.PHASE_WRITING,
]


class PhaseTests(InterruptedBase):
    def phases_of_an_import(self) -> list[tuple[str, str]]:
        """(step announced, step the progress file held at that moment) for a HubSpot import."""
        seen: list[tuple[str, str]] = []

        def phase(name: str) -> None:
            run_ = ImportRun.objects.get(status=RunStatus.RUNNING)
            seen.append((name, json.loads(progress_path(run_).read_text())["phase"]))

        plan = hubspot_plan(deals=HUBSPOT)
        started = import_run_start(workspace=self.workspace, by=None, plan=plan)
        outcome = import_run_execute(run=started, plan=plan, phase=phase)
        self.assertEqual(outcome.run.status, RunStatus.DONE, outcome.run.message)
        return seen

    def test_each_step_is_announced_in_order_and_kept_in_the_progress_file(self) -> None:
        seen = self.phases_of_an_import()
        self.assertEqual([name for name, _ in seen], STEPS)
        self.assertEqual([in_file for _, in_file in seen], STEPS)

    def test_a_bulk_load_also_says_it_rebuilds_the_indexes(self) -> None:
        with mock.patch.object(bulk, "BULK_ROWS", 1):
            seen = self.phases_of_an_import()
        self.assertEqual([name for name, _ in seen], [*STEPS, bulk.PHASE_REBUILDING])

    def test_the_page_and_the_api_show_the_step_of_a_running_import(self) -> None:
        run_ = self.running(beat_ago=1)
        path = progress_path(run_)
        path.write_text(json.dumps({**json.loads(path.read_text()), "phase": "Rebuilding indexes"}))
        self.sign_in(self.leader)
        poll = self.client.get(self.url("detail", pk=run_.pk), headers={"HX-Request": "true"})
        self.assertContains(poll, 'data-testid="import-phase">Rebuilding indexes<')
        self.assertContains(poll, "All 7 rows read.")
        body = self.client.get(f"/api/v1/workspaces/{self.workspace.slug}/imports/{run_.pk}")
        self.assertEqual(
            (body.json()["phase"], body.json()["rows_read"]), ("Rebuilding indexes", 7)
        )
        # Once the run ends there is no step to show.
        ImportRun.objects.filter(pk=run_.pk).update(status=RunStatus.DONE)
        path.unlink()
        body = self.client.get(f"/api/v1/workspaces/{self.workspace.slug}/imports/{run_.pk}")
        self.assertEqual(body.json()["phase"], "")

    def test_a_rep_cannot_read_the_progress_of_an_import(self) -> None:
        run_ = self.running(beat_ago=1, host=socket.gethostname())
        self.sign_in(self.rep_a)
        body = self.client.get(f"/api/v1/workspaces/{self.workspace.slug}/imports/{run_.pk}")
        self.assertEqual(body.status_code, 403)
        self.assertNotIn("phase", body.content.decode())


class RowsReadTests(InterruptedBase):
    def test_the_history_file_counts_towards_the_rows_read(self) -> None:
        files = generate_salesforce_export(Path(self.tmp) / "sf", deals=300)
        seen: list[int] = []
        plan = salesforce_plan(opportunities=files.opportunities, history=files.history)
        started = import_run_start(workspace=self.workspace, by=None, plan=plan)
        outcome = import_run_execute(run=started, plan=plan, progress=seen.append)
        self.assertEqual(outcome.run.status, RunStatus.DONE, outcome.run.message)
        # Rows read only grow, and end at every row of both files (PostgreSQL reads the two at
        # once, on two connections; SQLite one after the other).
        self.assertEqual(seen, sorted(seen))
        self.assertGreaterEqual(seen[-1], 300 + files.history_rows)

    def test_the_expected_row_count_comes_from_the_files_first_lines(self) -> None:
        files = generate_salesforce_export(Path(self.tmp) / "sf", deals=3000)
        plan = salesforce_plan(opportunities=files.opportunities, history=files.history)
        lines = sum(
            len(p.read_bytes().splitlines()) - 1 for p in (files.opportunities, files.history)
        )
        self.assertGreater(files.history.stat().st_size, services.ESTIMATE_SAMPLE)
        self.assertLess(abs(services._estimate_rows(plan) - lines) / lines, 0.05)
        # A file shorter than the sample is counted, not estimated.
        short = hubspot_plan(deals=HUBSPOT)
        self.assertEqual(services._estimate_rows(short), len(HUBSPOT.read_bytes().splitlines()) - 1)


class DurationTests(InterruptedBase):
    def test_a_run_says_how_long_it_took_to_the_second(self) -> None:
        from datetime import timedelta

        run_ = self.running(beat_ago=None)
        self.assertEqual(run_.duration, "")  # not finished yet
        assert run_.started_at is not None
        started = run_.started_at
        for took, said in [
            (timedelta(seconds=4.4), "4 s"),
            (timedelta(seconds=125), "2 min 5 s"),
            (timedelta(hours=1, minutes=3, seconds=9), "1 h 3 min"),
        ]:
            run_.finished_at = started + took
            self.assertEqual(run_.duration, said)
