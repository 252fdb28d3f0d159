"""A killed import is found out (its process gone, or its heartbeat silent) and marked
interrupted, with a way to run it again, instead of showing as running forever."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import time
from datetime import timedelta
from typing import Any
from unittest import mock

from django.core.management import call_command
from django.utils import timezone

from unstuck.core.models import Workspace
from unstuck.deals.models import Deal
from unstuck.imports import services
from unstuck.imports.models import ImportRun, RunStatus
from unstuck.imports.readers.crm import hubspot_plan
from unstuck.imports.services import (
    import_run_execute,
    import_run_execute_stored,
    import_run_start,
    import_runs_mark_interrupted,
    progress_path,
)
from unstuck.imports.tests.helpers import EXAMPLES
from unstuck.imports.tests.test_wizard import WizardBase

HUBSPOT = EXAMPLES / "hubspot" / "deals.csv"


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", ""])
    child.wait()
    return child.pid


class InterruptedBase(WizardBase):
    def running(
        self,
        *,
        workspace: Workspace | None = None,
        host: str | None = None,
        pid: int | None = None,
        beat_ago: float | None = 0,
        started_ago: timedelta = timedelta(minutes=1),
    ) -> ImportRun:
        """A run left 'running' by some process, with its progress file if beat_ago is set."""
        host = socket.gethostname() if host is None else host
        pid = os.getpid() if pid is None else pid
        run_ = ImportRun.objects.create(
            workspace=workspace or self.workspace,
            via="cli",
            kind="hubspot",
            status=RunStatus.RUNNING,
            started_at=timezone.now() - started_ago,
            worker_host=host,
            worker_pid=pid,
        )
        if beat_ago is not None:
            self.beat(run_, host=host, pid=pid, ago=beat_ago)
        return run_

    def beat(self, run_: ImportRun, *, host: str, pid: int, ago: float) -> None:
        path = progress_path(run_)
        path.parent.mkdir(parents=True, exist_ok=True)
        state = {"rows": 7, "host": host, "pid": pid, "pidns": services._pid_namespace()}
        path.write_text(json.dumps({**state, "heartbeat": time.time() - ago}))

    def status(self, run_: ImportRun) -> str:
        run_.refresh_from_db()
        return run_.status


class MarkInterruptedTests(InterruptedBase):
    def test_a_dead_process_on_this_host_is_interrupted_at_once(self) -> None:
        killed = self.running(pid=dead_pid(), beat_ago=1)
        alive = self.running(beat_ago=1)
        self.assertEqual(import_runs_mark_interrupted(), [killed])
        killed.refresh_from_db()
        self.assertEqual(killed.status, RunStatus.INTERRUPTED)
        self.assertIn("interrupted", killed.message)
        self.assertIn("nothing was written. Run it again.", killed.message)
        self.assertIsNotNone(killed.finished_at)
        self.assertFalse(progress_path(killed).exists())
        self.assertEqual(self.status(alive), RunStatus.RUNNING)

    def test_elsewhere_only_a_silent_heartbeat_tells(self) -> None:
        silent = self.running(host="worker-2", pid=12345, beat_ago=11 * 60)
        beating = self.running(host="worker-2", pid=12345, beat_ago=20)
        never_beat = self.running(host="worker-2", beat_ago=None, started_ago=timedelta(hours=1))
        just_started = self.running(host="worker-2", beat_ago=None)
        import_runs_mark_interrupted()
        self.assertEqual(self.status(silent), RunStatus.INTERRUPTED)
        self.assertEqual(self.status(never_beat), RunStatus.INTERRUPTED)
        self.assertEqual(self.status(beating), RunStatus.RUNNING)
        self.assertEqual(self.status(just_started), RunStatus.RUNNING)

    def test_only_the_given_workspace_and_only_running_imports(self) -> None:
        other = Workspace.objects.get(slug="globex")
        theirs = self.running(workspace=other, pid=dead_pid())
        queued = ImportRun.objects.create(
            workspace=self.workspace, kind="hubspot", status=RunStatus.QUEUED
        )
        ours = self.running(pid=dead_pid())
        self.assertEqual(import_runs_mark_interrupted(workspace=self.workspace), [ours])
        self.assertEqual(self.status(theirs), RunStatus.RUNNING)
        self.assertEqual(self.status(queued), RunStatus.QUEUED)


class HeartbeatTests(InterruptedBase):
    def test_a_running_import_records_its_process_and_beats(self) -> None:
        seen: list[dict[str, Any]] = []

        def progress(n: int) -> None:
            run_ = ImportRun.objects.get(status=RunStatus.RUNNING)
            state = json.loads(progress_path(run_).read_text())
            seen.append({**state, "run_pid": run_.worker_pid})
            # Seen from this very process, the import is alive.
            self.assertEqual(import_runs_mark_interrupted(), [])

        plan = hubspot_plan(deals=HUBSPOT)
        started = import_run_start(workspace=self.workspace, by=None, plan=plan)
        outcome = import_run_execute(run=started, plan=plan, progress=progress)
        self.assertEqual(outcome.run.status, RunStatus.DONE, outcome.run.message)
        self.assertTrue(seen)
        self.assertEqual((seen[0]["pid"], seen[0]["run_pid"]), (os.getpid(), os.getpid()))
        self.assertEqual(seen[0]["host"], socket.gethostname())
        self.assertLess(time.time() - seen[0]["heartbeat"], 60)
        self.assertEqual(outcome.run.worker_host, socket.gethostname())
        self.assertFalse(progress_path(outcome.run).exists())

    def test_the_heartbeat_goes_on_between_progress_calls(self) -> None:
        run_ = self.running(beat_ago=None)
        with (
            mock.patch.object(services, "HEARTBEAT_EVERY", 0.02),
            services._ProgressFile(run_) as progress_file,
        ):
            first = json.loads(progress_file.path.read_text())["heartbeat"]
            time.sleep(0.2)
            later = json.loads(progress_file.path.read_text())["heartbeat"]
        self.assertGreater(later, first)
        self.assertFalse(progress_path(run_).exists())


class InterruptedPagesTests(InterruptedBase):
    def test_the_leader_sees_what_happened_and_runs_it_again(self) -> None:
        uploaded = self.upload("deals.csv", HUBSPOT.read_bytes())
        self.client.post(self.url("preview", pk=uploaded.pk), {"mode": "strict"})
        ImportRun.objects.filter(pk=uploaded.pk).update(
            status=RunStatus.RUNNING, started_at=timezone.now(), worker_pid=dead_pid()
        )
        self.beat(uploaded, host=socket.gethostname(), pid=dead_pid(), ago=1)
        listing = self.client.get(self.url("list"))
        self.assertContains(listing, "Interrupted: nothing written")
        page = self.client.get(self.url("detail", pk=uploaded.pk))
        self.assertContains(page, "This import was interrupted")
        self.assertContains(page, "Run again")
        self.assertNotContains(page, "import-progress")  # no longer polls as if running
        response = self.client.post(self.url("repeat", pk=uploaded.pk))
        again = ImportRun.objects.latest("pk")
        self.assertRedirects(response, self.url("detail", pk=again.pk))
        import_run_execute_stored(run_id=again.pk)
        self.assertEqual(self.status(again), RunStatus.DONE)
        self.assertEqual(Deal.objects.filter(source="hubspot").count(), 5)

    def test_the_detail_page_marks_a_dead_run_as_the_list_does(self) -> None:
        killed = self.running(pid=dead_pid(), beat_ago=1)
        self.sign_in(self.leader)
        page = self.client.get(self.url("detail", pk=killed.pk))
        self.assertContains(page, "This import was interrupted")
        self.assertContains(page, "Run the same <code>unstuck import …</code> command again")

    def test_the_api_status_reports_a_dead_run_as_interrupted(self) -> None:
        killed = self.running(pid=dead_pid(), beat_ago=1)
        self.sign_in(self.leader)
        body = self.client.get(f"/api/v1/workspaces/{self.workspace.slug}/imports/{killed.pk}")
        self.assertEqual(body.status_code, 200)
        self.assertEqual(body.json()["status"], RunStatus.INTERRUPTED)
        self.assertIn("nothing was written", body.json()["message"])

    def test_a_rep_is_refused_and_changes_nothing(self) -> None:
        killed = self.running(pid=dead_pid(), beat_ago=1)
        self.sign_in(self.rep_a)
        self.assertEqual(self.client.get(self.url("detail", pk=killed.pk)).status_code, 403)
        self.assertEqual(self.client.get(self.url("list")).status_code, 403)
        self.assertEqual(self.status(killed), RunStatus.RUNNING)


class InterruptedAtStartTests(InterruptedBase):
    def test_the_import_command_settles_a_killed_run_first(self) -> None:
        killed = self.running(pid=dead_pid(), beat_ago=1)
        err = io.StringIO()
        call_command(
            "import", "hubspot", "--workspace", "acme", "--deals", str(HUBSPOT),
            "--no-progress", stdout=io.StringIO(), stderr=err,
        )  # fmt: skip
        self.assertEqual(self.status(killed), RunStatus.INTERRUPTED)
        self.assertIn(f"import {killed.pk} was interrupted", err.getvalue())

    def test_the_worker_task_settles_a_killed_run_first(self) -> None:
        from unstuck.imports.tasks import run_import

        killed = self.running(host="old-worker", beat_ago=30 * 60)
        run_import.call(0)  # no such run: the task only settles what it finds
        self.assertEqual(self.status(killed), RunStatus.INTERRUPTED)
