"""Reads for the import pages: past runs, their problems, the rejected rows."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet

from unstuck.core.access import require_role
from unstuck.core.models import Membership, Role, TaskRun
from unstuck.imports.models import ImportProblem, ImportRun, RunStatus


def import_runs(membership: Membership) -> QuerySet[ImportRun]:
    """Imports are the leaders' business: the list is theirs alone."""
    require_role(membership, Role.LEADER)
    return (
        ImportRun.objects.filter(workspace_id=membership.workspace_id)
        .exclude(status="draft")
        .select_related("created_by")
    )


def assignable_members(membership: Membership) -> list[Membership]:
    """Reps and managers a leader may give an unknown CRM owner's deals to."""
    require_role(membership, Role.LEADER)
    return list(
        Membership.objects.filter(
            workspace_id=membership.workspace_id, role__in=[Role.REP, Role.MANAGER]
        )
        .select_related("user", "team")
        .order_by("user__name", "user__email")
    )


def run_problems(run: ImportRun, *, limit: int) -> list[ImportProblem]:
    return list(run.problems.order_by("severity", "file", "line", "pk")[:limit])


def rejected_rows(
    run: ImportRun,
) -> tuple[list[str], Iterator[tuple[str, int, str, dict[str, Any]]]]:
    """(the union of the rejected rows' columns, each rejected row once with its reasons)."""
    errors = run.problems.filter(severity="error").order_by("file", "line", "pk")
    headers: dict[str, None] = {}
    for f in run.files:
        if f.get("role") == "deals":
            headers.update(dict.fromkeys(f.get("headers", [])))
    for f in run.files:
        if f.get("role") == "history":
            headers.update(dict.fromkeys(f.get("headers", [])))

    def rows() -> Iterator[tuple[str, int, str, dict[str, Any]]]:
        current: tuple[str, int] | None = None
        reasons: list[str] = []
        row: dict[str, Any] = {}
        for p in errors.iterator(chunk_size=2000):
            key = (p.file, p.line)
            if key != current and current is not None:
                yield current[0], current[1], "; ".join(reasons), row
                reasons, row = [], {}
            current = key
            label = f"{p.column}: " if p.column else ""
            reasons.append(f"{label}{p.reason}" + (f" ({p.value!r})" if p.value else ""))
            row = p.row or row
        if current is not None:
            yield current[0], current[1], "; ".join(reasons), row

    return list(headers), rows()


def scoring_after(run: ImportRun) -> TaskRun | str | None:
    """How the scoring an import queued went: its TaskRun once a worker started it, "queued"
    before then, None when the import queued none (nothing written, or not finished)."""
    from unstuck.core.selectors import task_run_after

    if run.status != RunStatus.DONE or run.finished_at is None:
        return None
    if not (run.created or run.updated or run.history_added):
        return None
    found = task_run_after(run.workspace, kind="scoring", since=run.finished_at)
    return found if found is not None else "queued"


def owners_to_invite(run: ImportRun) -> list[dict[str, Any]]:
    """The CRM owners the import did not know, with the email the export gave each (if any)
    and how many deals came in without an owner because of them, for "invite these N"."""
    unknown: dict[str, int] = run.summary.get("unknown_owners") or {}
    emails: dict[str, str] = run.summary.get("unknown_owner_emails") or {}
    found = []
    for i, (label, deals) in enumerate(unknown.items()):
        email = emails.get(label, "")
        if not email and "@" in label:
            email = label
        name = "" if label == email else label
        found.append({"i": i, "label": label, "name": name, "email": email, "deals": deals})
    return found
