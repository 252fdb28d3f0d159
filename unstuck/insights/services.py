"""Writes of insights: a person's weekly check-in and monthly pulse, and the background
recomputation of the derived figures (minutes per week, stuck value over time, the
innovated-versus-comparable comparison), whose failures stay on the run for the page."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import TypeVar

from django.db import IntegrityError, transaction
from django.utils import timezone

from unstuck.core.errors import NotAllowed, UnstuckError
from unstuck.core.models import Membership, Role, User, Workspace
from unstuck.core.services import _clean
from unstuck.insights.models import CheckIn, InsightsRun, PulseAnswer, RunStatus
from unstuck.insights.timesplit import WEEKS_SHOWN, last_weeks, week_start

log = logging.getLogger(__name__)

STALE_RUN = timedelta(minutes=30)  # a run "running" this long lost its worker


def _require_manager_or_leader(membership: Membership, what: str) -> None:
    if membership.role not in {Role.MANAGER, Role.LEADER}:
        raise NotAllowed(f"Only managers and leaders {what}.")


Own = TypeVar("Own", CheckIn, PulseAnswer)


def _save_own(
    model: type[Own],
    membership: Membership,
    period: dict[str, date],
    values: dict[str, int],
    *,
    stamp: str,
) -> Own:
    """Create or replace the member's own row for one period (a week, a month). Locked, so
    two tabs saving the same period at once leave one row holding the last answer."""
    key = {"workspace_id": membership.workspace_id, "user_id": membership.user_id, **period}
    with transaction.atomic():
        row = model.objects.select_for_update().filter(**key).first()
        if row is None:
            row = model(**key, **values)
            _clean(row)
            try:
                with transaction.atomic():
                    row.save()
                return row
            except IntegrityError:  # the other request created it first: replace theirs
                row = model.objects.select_for_update().get(**key)
        for name, value in values.items():
            setattr(row, name, value)
        setattr(row, stamp, timezone.now())
        _clean(row)
        row.save(update_fields=[*values, stamp])
    return row


def checkin_save(
    *,
    membership: Membership,
    week: date,
    innovation: int,
    coaching: int,
    efficiency: int,
    admin: int,
    today: date | None = None,
) -> CheckIn:
    """A person corrects one of their own last weeks: four percentages adding up to 100."""
    _require_manager_or_leader(membership, "check in on their week")
    today = today or timezone.localdate()
    if week != week_start(week):
        raise UnstuckError("A check-in is for a week starting on a Monday.", field="week")
    if week not in last_weeks(today, WEEKS_SHOWN):
        raise UnstuckError(
            f"Check in on one of the last {WEEKS_SHOWN} weeks (this week included).", field="week"
        )
    values = {
        "innovation": innovation,
        "coaching": coaching,
        "efficiency": efficiency,
        "admin": admin,
    }
    for name, value in values.items():
        if not 0 <= value <= 100:
            raise UnstuckError(f"{name.title()} must be between 0 and 100 %.", field=name)
    if sum(values.values()) != 100:
        raise UnstuckError(
            f"The four parts add up to {sum(values.values())} %; make them add up to 100 %.",
            field="admin",
        )
    return _save_own(CheckIn, membership, {"week": week}, values, stamp="updated_at")


PULSE_QUESTIONS = (
    ("empowered", "Leadership empowers me to set my own course."),
    (
        "time_for_innovation",
        "This month I had time to work on stuck deals, not only on the pipeline.",
    ),
    ("decide_without_approval", "I can decide what a deal needs without waiting for approval."),
)
PULSE_MIN_GROUP = 3  # leaders see a month only when at least this many managers answered


def month_of(day: date) -> date:
    return day.replace(day=1)


def pulse_answer(
    *, membership: Membership, answers: dict[str, int], today: date | None = None
) -> PulseAnswer:
    """A manager's pulse for the current month (answering again replaces it)."""
    if membership.role != Role.MANAGER:
        raise NotAllowed("The pulse is for managers.")
    month = month_of(today or timezone.localdate())
    keys = [k for k, _ in PULSE_QUESTIONS]
    missing = [k for k in keys if k not in answers]
    if missing or set(answers) - set(keys):
        raise UnstuckError(
            f"Answer each question: {', '.join(keys)}.", field=missing[0] if missing else None
        )
    for k in keys:
        if not isinstance(answers[k], int) or not 1 <= answers[k] <= 5:
            raise UnstuckError("Answers are on a scale of 1 (disagree) to 5 (agree).", field=k)
    return _save_own(PulseAnswer, membership, {"month": month}, answers, stamp="answered_at")


# --- the background recomputation --------------------------------------------------------


def insights_schedule(*, workspace: Workspace, by: Membership | None = None) -> InsightsRun:
    """Queue a recomputation unless one is already queued or running (then that one)."""
    if by is not None:
        _require_manager_or_leader(by, "recompute insights")
    with transaction.atomic():
        Workspace.objects.select_for_update().filter(pk=workspace.pk).first()
        pending = (
            InsightsRun.objects.filter(
                workspace=workspace, status__in=[RunStatus.QUEUED, RunStatus.RUNNING]
            )
            .order_by("-created_at")
            .first()
        )
        fresh = timezone.now() - STALE_RUN
        if pending is not None and (pending.started_at or pending.created_at) > fresh:
            return pending
        run = InsightsRun.objects.create(workspace=workspace, requested_by=by.user if by else None)
    from unstuck.insights.tasks import recompute_insights

    transaction.on_commit(lambda: recompute_insights.enqueue(run.pk))
    return run


def insights_recompute(*, run: InsightsRun, today: date | None = None) -> InsightsRun:
    """Compute everything for the run's workspace; on failure the run keeps the reason."""
    from unstuck.insights.effect import effectiveness_compute
    from unstuck.insights.pipeline import open_totals_recompute, stuck_value_recompute
    from unstuck.insights.timesplit import time_spent_recompute

    today = today or timezone.localdate()
    workspace = run.workspace
    run.status = RunStatus.RUNNING
    run.started_at = timezone.now()
    run.error = ""
    run.save(update_fields=["status", "started_at", "error"])
    try:
        time_spent_recompute(workspace=workspace, today=today)
        open_totals_recompute(workspace=workspace)
        stuck_value_recompute(workspace=workspace, today=today)
        names = {
            u.pk: u.display_name for u in User.objects.filter(memberships__workspace=workspace)
        }
        run.effectiveness = effectiveness_compute(workspace, names=names)
    except Exception as exc:
        log.exception("insights recomputation %s failed", run.pk)
        run.status = RunStatus.FAILED
        run.error = f"{type(exc).__name__}: {exc}"[:2000]
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "error", "finished_at"])
        return run
    run.status = RunStatus.DONE
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "effectiveness", "finished_at"])
    return run
