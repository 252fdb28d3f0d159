"""Import runs (who imported which files when, and what came of it), their row problems, and
column mappings saved by the wizard for next time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from unstuck.core.models import Workspace


class ImportKind(models.TextChoices):
    SALESFORCE = "salesforce", "Salesforce"
    HUBSPOT = "hubspot", "HubSpot"
    CSV = "csv", "CSV with a mapping"


class RunStatus(models.TextChoices):
    DRAFT = "draft", "Being set up"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Imported"
    REJECTED = "rejected", "Rejected: nothing written"
    FAILED = "failed", "Failed: nothing written"
    INTERRUPTED = "interrupted", "Interrupted: nothing written"


FILE_ROLES = {
    "deals": "Deals",
    "opportunities": "Opportunities",
    "history": "Stage history",
    "accounts": "Accounts",
    "users": "Users",
    "contacts": "Contacts",
    "contact_roles": "Contact roles",
    "activities": "Activities",
    "companion": "Companion file",
}


class ImportRun(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="import_runs")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    via = models.CharField(max_length=10, default="web", help_text="web or cli")
    kind = models.CharField(max_length=10, choices=ImportKind.choices)
    status = models.CharField(max_length=12, choices=RunStatus.choices, default=RunStatus.DRAFT)
    strict = models.BooleanField(default=True, help_text="Any invalid row and nothing is written.")
    format_label = models.CharField(max_length=200, blank=True)
    files = models.JSONField(
        default=list, help_text="[{role, name, sha256, size, encoding, delimiter, headers}]"
    )
    mapping = models.JSONField(default=dict, blank=True)
    assign_owners = models.JSONField(default=dict, blank=True)
    rows_total_estimate = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    merged_duplicates = models.PositiveIntegerField(default=0)
    history_added = models.PositiveIntegerField(default=0)
    rows_read = models.PositiveIntegerField(default=0)
    summary = models.JSONField(default=dict, blank=True, help_text="Notes, owners, stages.")
    message = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    worker_host = models.CharField(
        max_length=255, blank=True, help_text="The machine whose process runs the import."
    )
    worker_pid = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-pk")
        indexes = [models.Index(fields=["workspace", "-created_at"], name="importrun_ws_time")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} import {self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in {
            RunStatus.DONE,
            RunStatus.REJECTED,
            RunStatus.FAILED,
            RunStatus.INTERRUPTED,
        }

    @property
    def duration(self) -> str:
        """How long the run took, to the second ("48 s", "2 min 5 s", "1 h 3 min"); "" if it
        has not both started and finished."""
        if self.started_at is None or self.finished_at is None:
            return ""
        seconds = max(round((self.finished_at - self.started_at).total_seconds()), 0)
        hours, rest = divmod(seconds, 3600)
        minutes, seconds = divmod(rest, 60)
        if hours:
            return f"{hours} h {minutes} min"
        return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"

    @property
    def files_shown(self) -> list[dict[str, Any]]:
        """The files with a readable role, for the pages."""
        return [{**f, "role_label": FILE_ROLES.get(f["role"], f["role"])} for f in self.files]

    @property
    def files_stored(self) -> bool:
        """Whether the uploaded files are still on disk to run the import again."""
        return bool(self.files) and all(
            f.get("path") and Path(f["path"]).exists() for f in self.files
        )

    @property
    def file_dir(self) -> str:
        return f"imports/{self.workspace_id}/{self.pk}"


class ImportProblem(models.Model):
    """One problem on one row (or a whole file, line 0). Errors reject the row."""

    run = models.ForeignKey(ImportRun, on_delete=models.CASCADE, related_name="problems")
    severity = models.CharField(max_length=7, default="error")
    file = models.CharField(max_length=255)
    line = models.PositiveIntegerField(default=0)
    column = models.CharField(max_length=255, blank=True)
    value = models.CharField(max_length=200, blank=True)
    reason = models.TextField()
    row = models.JSONField(null=True, blank=True, help_text="The row as read, for the CSV.")

    class Meta:
        ordering = ("run", "file", "line", "pk")

    def __str__(self) -> str:
        return f"{self.file}:{self.line} {self.reason}"


class SavedMapping(models.Model):
    """A column mapping the wizard remembers for files with the same headers."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=ImportKind.choices)
    headers_key = models.CharField(max_length=64, help_text="sha256 of the sorted headers.")
    name = models.CharField(max_length=200, blank=True, help_text="How the wizard lists it.")
    mapping = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "kind", "headers_key"], name="saved_mapping_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} mapping {self.headers_key[:8]}"


class LineIndex(models.Model):
    """What the last fingerprinting COPY import of a source read, line by line (lines.py): a
    64-bit hash of each raw line of its deals and history files beside a hash of the deal id
    on that line, so the next import copies only the lines that changed (and the deals they
    touch). The hashes (about 100 MB at a million deals) are a file in the data folder, named
    by the token; this row, written in the import's transaction, says which file is current."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    source = models.CharField(max_length=30)
    token = models.CharField(
        max_length=32, help_text="Names the file; also in the import run's summary."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "source"], name="line_index_unique")
        ]

    def __str__(self) -> str:
        return f"line index {self.source} {self.token}"
