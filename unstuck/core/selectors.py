"""Reads across core's models: the background work of a workspace and what of it failed."""

from __future__ import annotations

from datetime import datetime

from unstuck.core.models import TaskRun, TaskStatus, Workspace


def task_failures(workspace: Workspace, *, kinds: tuple[str, ...] = ()) -> list[TaskRun]:
    """Failed runs nobody has retried and no later run of the same kind has settled (a
    failed scoring followed by a successful nightly one is not shown), newest first.

    Written out: pages that show the notice (the queue, a manager's landing page) ask on
    every view, nearly always to find none, and the ORM took a millisecond of CPU to build
    the statement's NOT EXISTS (issue 16.2); `raw` still makes the rows into TaskRuns."""
    columns = ", ".join(f"t.{f.column}" for f in TaskRun._meta.concrete_fields)
    among = f"AND t.kind IN ({', '.join(['%s'] * len(kinds))})" if kinds else ""
    statement = f"""
SELECT {columns} FROM core_taskrun t
WHERE t.workspace_id = %s AND t.status = %s AND t.retried_at IS NULL {among}
  AND NOT EXISTS (SELECT 1 FROM core_taskrun u
                  WHERE u.workspace_id = t.workspace_id AND u.kind = t.kind
                    AND u.status = %s AND u.started_at > t.started_at)
ORDER BY t.started_at DESC, t.id DESC
LIMIT 50"""
    params = [workspace.pk, TaskStatus.FAILED.value, *kinds, TaskStatus.DONE.value]
    # One per kind: a failure retried by cron three times is one thing to fix.
    seen: set[str] = set()
    shown = []
    for run in TaskRun.objects.raw(statement, params):
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
