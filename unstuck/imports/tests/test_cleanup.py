"""Uploaded files do not outlive their use: a failed upload or a discarded draft leaves none,
and `unstuck imports cleanup` removes those of old imports and folders no import refers to."""

from __future__ import annotations

import io
import os
import time
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone

from unstuck.core.models import Workspace
from unstuck.imports import lines
from unstuck.imports.models import ImportRun, LineIndex, RunStatus
from unstuck.imports.services import import_run_execute_stored
from unstuck.imports.tests.helpers import EXAMPLES
from unstuck.imports.tests.test_wizard import WizardBase

HUBSPOT = (EXAMPLES / "hubspot" / "deals.csv").read_bytes()


def stored_files() -> list[Path]:
    return sorted(p for p in (Path(settings.MEDIA_ROOT) / "imports").rglob("*") if p.is_file())


class UploadFilesTests(WizardBase):
    def test_an_upload_that_fails_detection_leaves_no_files(self) -> None:
        self.sign_in(self.leader)
        not_csv = SimpleUploadedFile("x.csv", b"\x00\x01" * 99)
        response = self.client.post(self.url("new"), {"kind": "auto", "deals": not_csv})
        self.assertContains(response, "is it a CSV?", status_code=400)
        # Refused after the deals file was stored and read: the other check that stores first.
        tasks = SimpleUploadedFile("Task.csv", b"Id,WhatId\n00T1,006A\n")
        response = self.client.post(
            self.url("new"),
            {
                "kind": "auto",
                "deals": SimpleUploadedFile("deals.csv", HUBSPOT),
                "activities": tasks,
            },
        )
        self.assertContains(response, "only come with a Salesforce export", status_code=400)
        self.assertFalse(ImportRun.objects.exists())
        self.assertEqual(stored_files(), [])

    def test_discarding_a_draft_deletes_its_folder(self) -> None:
        run = self.upload("deals.csv", HUBSPOT)
        folder = Path(settings.MEDIA_ROOT) / run.file_dir
        self.assertTrue((folder / "deals.csv").exists())
        self.sign_in(self.rep_a)
        with self.captureOnCommitCallbacks(execute=True):
            refused = self.client.post(self.url("discard", pk=run.pk))
        self.assertEqual(refused.status_code, 403)
        self.assertTrue(folder.exists())
        self.sign_in(self.leader)
        with self.captureOnCommitCallbacks(execute=True):
            response = self.client.post(self.url("discard", pk=run.pk))
        self.assertRedirects(response, self.url("list"))
        self.assertFalse(ImportRun.objects.filter(pk=run.pk).exists())
        self.assertFalse(folder.exists())


class CleanupCommandTests(WizardBase):
    def cleanup(self, *args: str) -> str:
        out = io.StringIO()
        call_command("imports", "cleanup", *args, stdout=out)
        return out.getvalue()

    def finished(self, days_ago: int) -> ImportRun:
        run = self.upload("deals.csv", HUBSPOT)
        self.client.post(self.url("preview", pk=run.pk), {"mode": "strict"})
        import_run_execute_stored(run_id=run.pk)
        ImportRun.objects.filter(pk=run.pk).update(
            finished_at=timezone.now() - timedelta(days=days_ago)
        )
        run.refresh_from_db()
        self.assertEqual(run.status, RunStatus.DONE)
        return run

    def folder(self, run: ImportRun) -> Path:
        return Path(settings.MEDIA_ROOT) / run.file_dir

    def orphan(self, name: str, hours_ago: float) -> Path:
        folder = Path(settings.MEDIA_ROOT) / "imports" / str(self.workspace.pk) / name
        folder.mkdir(parents=True)
        (folder / "deals.csv").write_bytes(HUBSPOT)
        then = time.time() - hours_ago * 3600
        os.utime(folder, (then, then))
        return folder

    def test_old_finished_imports_and_orphans_go_the_rest_stays(self) -> None:
        old = self.finished(days_ago=40)
        recent = self.finished(days_ago=2)
        draft = self.upload("deals.csv", HUBSPOT)
        left_draft = self.upload("deals.csv", HUBSPOT)
        ImportRun.objects.filter(pk=left_draft.pk).update(
            created_at=timezone.now() - timedelta(days=31)
        )
        orphan = self.orphan("9999", hours_ago=2)
        uploading = self.orphan("9998", hours_ago=0)  # its run has not committed yet

        dry = self.cleanup("--dry-run")
        self.assertIn(f"Would remove {orphan}", dry)
        self.assertTrue(orphan.exists())

        out = self.cleanup()
        self.assertIn(f"Removed {self.folder(old)}", out)
        self.assertIn(f"import {old.pk} imported", out)
        self.assertIn(f"Removed {orphan}", out)
        self.assertIn("no import refers to it", out)
        self.assertIn("Removed 3 upload folders", out)
        for gone in (self.folder(old), self.folder(left_draft), orphan):
            self.assertFalse(gone.exists(), gone)
        for kept in (self.folder(recent), self.folder(draft), uploading):
            self.assertTrue(kept.exists(), kept)
        # The import stays on record, without the files to run it again; the left draft goes.
        self.assertTrue(ImportRun.objects.filter(pk=old.pk).exists())
        self.assertFalse(ImportRun.objects.filter(pk=left_draft.pk).exists())
        page = self.client.get(self.url("detail", pk=old.pk))
        self.assertContains(page, "Imported")
        self.assertNotContains(page, self.url("repeat", pk=old.pk))
        self.assertIn("Nothing to remove", self.cleanup())

    def test_files_a_newer_import_reads_are_kept(self) -> None:
        old = self.finished(days_ago=40)
        self.client.post(self.url("repeat", pk=old.pk))  # queued, on the old run's files
        self.assertIn("Nothing to remove", self.cleanup())
        self.assertTrue(self.folder(old).exists())
        again = ImportRun.objects.latest("pk")
        import_run_execute_stored(run_id=again.pk)
        self.assertIn("Nothing to remove", self.cleanup())  # it finished just now
        self.assertIn(f"import {old.pk}", self.cleanup("--older-than", "0"))
        self.assertFalse(self.folder(old).exists())

    def test_a_deleted_workspaces_line_index_goes_a_kept_one_stays(self) -> None:
        def index(workspace: Workspace, token: str, hours_ago: float) -> Path:
            path = lines.index_file(workspace.pk, "salesforce", token)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"x" * 100)
            then = time.time() - hours_ago * 3600
            os.utime(path, (then, then))
            return path

        gone_ws = Workspace.objects.create(name="Gone", slug="gone")
        LineIndex.objects.create(workspace=self.workspace, source="salesforce", token="a" * 32)
        LineIndex.objects.create(workspace=gone_ws, source="salesforce", token="b" * 32)
        kept = index(self.workspace, "a" * 32, hours_ago=5)
        deleted = index(gone_ws, "b" * 32, hours_ago=5)
        writing = index(self.workspace, "c" * 32, hours_ago=0)  # its import has not committed
        self.assertIn("Nothing to remove", self.cleanup())
        gone_ws.delete()
        self.assertFalse(LineIndex.objects.filter(token="b" * 32).exists())

        self.assertIn(f"Would remove {deleted}", self.cleanup("--dry-run"))
        self.assertTrue(deleted.exists())
        out = self.cleanup()
        self.assertIn(f"Removed {deleted} (100\xa0bytes): a line index no import keeps", out)
        self.assertIn("Removed 1 line index file, 100\xa0bytes.", out)
        self.assertFalse(deleted.exists())
        self.assertTrue(kept.exists())
        self.assertTrue(writing.exists())
