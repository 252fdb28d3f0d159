"""Faults (issue 15, item 9): readiness that touches the database, one clear line from the CLI,
a worker that retries with backoff, two workers that never run a task twice, and a recompute
throttle that holds across processes."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from pathlib import Path
from unittest import mock

from django.db import OperationalError, connection, connections
from django.test import SimpleTestCase, TestCase, TransactionTestCase
from django_tasks_db.models import DBTaskResult

from unstuck.cli import main as cli_main
from unstuck.core.claims import claim
from unstuck.core.management.commands.worker import run_with_retry
from unstuck.core.models import Claim, Workspace
from unstuck.core.tests.tasks import note_run
from unstuck.investigate.services import assessments_schedule

UNREACHABLE = "postgres://unstuck@127.0.0.1:9/nothing"  # nothing listens on the discard port
ON_POSTGRES = connection.vendor == "postgresql"


def _env(**overrides: str) -> dict[str, str]:
    env = {**os.environ, **overrides}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


class ProbeTests(TestCase):
    def test_readyz_answers_ok_when_the_database_answers(self) -> None:
        response = self.client.get("/readyz")
        self.assertEqual((response.status_code, response.content), (200, b"ok"))

    def test_readyz_answers_503_and_healthz_stays_ok_when_the_database_is_down(self) -> None:
        down = OperationalError("connection refused")
        with mock.patch("unstuck.core.views.connection.cursor", side_effect=down):
            ready = self.client.get("/readyz")
            live = self.client.get("/healthz")
        self.assertEqual((ready.status_code, ready.content), (503, b"database unavailable"))
        self.assertEqual(live.status_code, 200)


class CliFaultTests(SimpleTestCase):
    def test_a_command_with_the_database_down_prints_one_line_and_exits_1(self) -> None:
        done = subprocess.run(
            [sys.executable, "-m", "unstuck.cli", "workspace", "list"],
            env=_env(DATABASE_URL=UNREACHABLE),
            capture_output=True,
            text=True,
            timeout=120,
        )
        self.assertEqual(done.returncode, 1)
        self.assertNotIn("Traceback", done.stderr)
        self.assertEqual(len(done.stderr.strip().splitlines()), 1, done.stderr)
        self.assertIn("the database cannot be used", done.stderr)
        self.assertIn("DATABASE_URL", done.stderr)

    def test_a_locked_database_says_to_try_again_in_one_line(self) -> None:
        locked = OperationalError("database is locked")
        with (
            mock.patch("django.core.management.execute_from_command_line", side_effect=locked),
            self.assertRaises(SystemExit) as raised,
        ):
            cli_main(["model", "train", "--workspace", "demo"])
        self.assertIn("the database is busy", str(raised.exception.code))
        self.assertIn("Try again in a moment", str(raised.exception.code))

    def test_a_wrong_boolean_setting_stops_the_start_with_one_line(self) -> None:
        done = subprocess.run(
            [sys.executable, "-m", "unstuck.cli", "check"],
            env=_env(UNSTUCK_SECURE_COOKIES="enabled"),
            capture_output=True,
            text=True,
            timeout=120,
        )
        self.assertEqual(done.returncode, 1)
        self.assertNotIn("Traceback", done.stderr)
        self.assertIn("UNSTUCK_SECURE_COOKIES='enabled' is not a yes/no value", done.stderr)


class WorkerRetryTests(SimpleTestCase):
    def test_it_retries_with_a_doubling_pause_and_says_so(self) -> None:
        outcomes = [OperationalError("connection refused")] * 3 + [None]
        pauses: list[float] = []
        said: list[str] = []

        def run() -> None:
            if (outcome := outcomes.pop(0)) is not None:
                raise outcome

        finished = run_with_retry(run, say=said.append, sleep=pauses.append, reset=lambda: None)
        self.assertTrue(finished)
        self.assertEqual(pauses, [1.0, 2.0, 4.0])
        self.assertIn("retrying in 2 s (attempt 3)", said[1])

    def test_batch_mode_gives_up_after_the_tries(self) -> None:
        def run() -> None:
            raise OperationalError("connection refused")

        said: list[str] = []
        self.assertFalse(
            run_with_retry(run, say=said.append, give_up_after=3, sleep=lambda s: None)
        )
        self.assertIn("giving up after 3 tries", said[-1])

    def test_a_real_worker_stays_up_while_the_database_is_down(self) -> None:
        log = Path(tempfile.mkdtemp(prefix="unstuck-worker-")) / "stderr.txt"
        with log.open("w") as err:
            worker = subprocess.Popen(
                [sys.executable, "-m", "unstuck.cli", "worker"],
                env=_env(DATABASE_URL=UNREACHABLE),
                stderr=err,
            )
        try:
            # Bounded: a loaded machine may take a while to start Django.
            deadline = time.monotonic() + 120
            while "attempt 3" not in log.read_text() and time.monotonic() < deadline:
                self.assertIsNone(worker.poll(), "the worker exited: " + log.read_text())
                time.sleep(0.5)
            self.assertIsNone(worker.poll(), "the worker exited")
        finally:
            worker.terminate()
            worker.wait(timeout=30)
        said = log.read_text()
        self.assertIn("retrying in 1 s (attempt 2)", said)
        self.assertIn("retrying in 2 s (attempt 3)", said)


class RecomputeThrottleTests(TestCase):
    def test_a_claim_holds_until_it_expires(self) -> None:
        self.assertTrue(claim("k", seconds=60))
        self.assertFalse(claim("k", seconds=60))
        Claim.objects.filter(key="k").update(until="2000-01-01T00:00:00Z")
        self.assertTrue(claim("k", seconds=60))

    def test_the_recompute_is_queued_once_the_transaction_commits_and_only_once(self) -> None:
        workspace = Workspace.objects.create(name="W", slug="w")
        with self.captureOnCommitCallbacks(execute=False) as callbacks:
            self.assertTrue(assessments_schedule(workspace=workspace))
            self.assertFalse(DBTaskResult.objects.exists())  # not before the commit
        self.assertEqual(len(callbacks), 1)
        with self.captureOnCommitCallbacks(execute=True):
            self.assertFalse(assessments_schedule(workspace=workspace))  # throttled
            self.assertTrue(assessments_schedule(workspace=workspace, force=True))
        self.assertEqual(DBTaskResult.objects.count(), 1)


@unittest.skipUnless(ON_POSTGRES, "concurrent processes need PostgreSQL (CI runs it)")
class ConcurrentProcessesTests(TransactionTestCase):
    def test_concurrent_callers_claim_the_recompute_once(self) -> None:
        workspace = Workspace.objects.create(name="W", slug="w")
        results: list[bool] = []
        barrier = threading.Barrier(6)

        def call() -> None:
            barrier.wait()
            try:
                results.append(assessments_schedule(workspace=workspace))
            finally:
                connections.close_all()

        threads = [threading.Thread(target=call) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(sorted(results), [False] * 5 + [True])
        self.assertEqual(DBTaskResult.objects.count(), 1)

    def test_two_worker_processes_never_run_the_same_task_twice(self) -> None:
        log = Path(tempfile.mkdtemp(prefix="unstuck-workers-")) / "runs.log"
        for i in range(40):
            note_run.enqueue(str(log), f"task-{i}")
        db = connection.settings_dict
        url = (
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        )
        workers = [
            subprocess.Popen(
                [sys.executable, "-m", "unstuck.cli", "worker", "--batch", "--interval", "0.1"],
                env=_env(DATABASE_URL=url),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        for worker in workers:
            _, err = worker.communicate(timeout=300)
            self.assertEqual(worker.returncode, 0, err)
        lines = log.read_text().splitlines()
        markers = [line.split()[0] for line in lines]
        self.assertEqual(sorted(markers), sorted(f"task-{i}" for i in range(40)))
        self.assertEqual(len({line.split()[1] for line in lines}), 2, "both workers ran tasks")
        results = DBTaskResult.objects.all()
        self.assertEqual({r.status for r in results}, {"SUCCESSFUL"})
        self.assertTrue(all(len(r.worker_ids) == 1 for r in results))
