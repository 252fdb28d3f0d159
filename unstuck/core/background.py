"""The one record of background work for a workspace: each run of a tracked task leaves a
`TaskRun` (running, done, or failed with the reason), which the import page, the queue and
the leader's workspace page read (core.selectors), and which a retry enqueues again
(core.services.task_retry).

Wrap a task's function with `tracked(...)` under `@task()`:

    @task()
    @tracked("scoring", "Scoring the pipeline")
    def recompute_workspace(workspace_id: int, retrain: bool = False) -> ...:

The record is kept whichever backend runs the task (the database worker, or the immediate
backend in a test), and a failure is still raised, so the task backend marks it failed too.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any, ParamSpec, TypeVar

from django.utils import timezone

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

KEEP = timedelta(days=30)

# task path -> kind, for the tasks a retry may enqueue again (nothing else is imported).
TRACKED: dict[str, str] = {}


def _first_arg(*args: Any, **kwargs: Any) -> int | None:
    value = args[0] if args else kwargs.get("workspace_id")
    return int(value) if value is not None else None


def tracked(
    kind: str,
    label: str,
    *,
    workspace_of: Callable[..., int | None] = _first_arg,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Record each run of the task in a TaskRun. `workspace_of` maps the task's arguments to
    its workspace's id (by default the first argument, a workspace id)."""

    def decorator(func: Callable[P, R]) -> Callable[P, R]:
        path = f"{func.__module__}.{func.__qualname__}"
        TRACKED[path] = kind

        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            from unstuck.core.models import TaskRun, TaskStatus

            record = TaskRun.objects.create(
                workspace_id=workspace_of(*args, **kwargs),
                kind=kind,
                label=label,
                task_path=path,
                args={"args": list(args), "kwargs": dict(kwargs)},
            )
            try:
                result = func(*args, **kwargs)
            except Exception as exc:
                log.exception("%s (task run %s) failed", label, record.pk)
                TaskRun.objects.filter(pk=record.pk).update(
                    status=TaskStatus.FAILED,
                    error=failure_reason(exc),
                    finished_at=timezone.now(),
                )
                raise
            now = timezone.now()
            TaskRun.objects.filter(pk=record.pk).update(status=TaskStatus.DONE, finished_at=now)
            # Keep a month of history; a success settles the older failures of its kind anyway.
            TaskRun.objects.filter(
                workspace_id=record.workspace_id, kind=kind, started_at__lt=now - KEEP
            ).delete()
            return result

        return wrapper

    return decorator


def failure_reason(exc: BaseException) -> str:
    """What to show a person: the exception's type and message, without the traceback (the
    log has it)."""
    if isinstance(exc, TaskFailed):
        return str(exc)[:2000]
    return f"{type(exc).__name__}: {exc}"[:2000]


class TaskFailed(Exception):
    """A task that recorded its own failure raises this so its run is recorded failed too."""
