"""Reads across core's models: the background work of a workspace and what of it failed."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Exists, OuterRef

from unstuck.core.models import TaskRun, TaskStatus, Workspace


def task_failures(workspace: Workspace, *, kinds: tuple[str, ...] = ()) -> list[TaskRun]:
    """Failed runs nobody has retried and no later run of the same kind has settled (a
    failed scoring followed by a successful nightly one is not shown), newest first."""
    settled_later = TaskRun.objects.filter(
        workspace_id=OuterRef("workspace_id"),
        kind=OuterRef("kind"),
        status=TaskStatus.DONE,
        started_at__gt=OuterRef("started_at"),
    )
    qs = TaskRun.objects.filter(
        workspace=workspace, status=TaskStatus.FAILED, retried_at__isnull=True
    ).exclude(Exists(settled_later))
    if kinds:
        qs = qs.filter(kind__in=kinds)
    # One per kind: a failure retried by cron three times is one thing to fix.
    seen: set[str] = set()
    shown = []
    for run in qs.order_by("-started_at", "-pk")[:50]:
        if run.kind not in seen:
            seen.add(run.kind)
            shown.append(run)
    return shown


def task_runs_recent(workspace: Workspace, *, limit: int = 10) -> list[TaskRun]:
    return list(TaskRun.objects.filter(workspace=workspace).order_by("-started_at", "-pk")[:limit])


def task_run_after(workspace: Workspace, *, kind: str, since: datetime) -> TaskRun | None:
    """The newest run of a kind started at or after a moment: the scoring an import queued."""
    return (
        TaskRun.objects.filter(workspace=workspace, kind=kind, started_at__gte=since)
        .order_by("-started_at", "-pk")
        .first()
    )
