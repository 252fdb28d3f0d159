"""Writes of Investigate: recomputing benchmarks and assessments, and the investigation a
manager runs with the rep (committee views, decision steps, obstacles, pain, feedback,
requests)."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import date

from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from unstuck.core.errors import Conflict, NotAllowed, UnstuckError
from unstuck.core.http import absolute_url
from unstuck.core.models import Membership, Role, Workspace
from unstuck.core.services import _clean, row_version, save_fields
from unstuck.deals.models import Deal, Stakeholder
from unstuck.deals.services import require_deal_edit
from unstuck.investigate import stall_score, winmodel
from unstuck.investigate.benchmarks import benchmarks_recompute
from unstuck.investigate.incremental import benchmark_changes, deal_inputs
from unstuck.investigate.models import (
    CustomerPain,
    DealAssessment,
    DecisionStep,
    Factor,
    FeedbackEntry,
    InvestigationRequest,
    Obstacle,
    StageBenchmark,
    StakeholderView,
    StallSettings,
    StepStatus,
    WinModel,
)
from unstuck.investigate.scoring_cache import scoring_changed
from unstuck.investigate.sql import insert_rows, refresh_statistics
from unstuck.investigate.stall_signals import describe, signal_rows
from unstuck.investigate.tally import tally_rewrite

log = logging.getLogger(__name__)


@dataclass
class RecomputeResult:
    benchmarks: int
    assessed: int
    model_kind: str
    full: bool = True
    kept: int = 0


# Above this many deals to rescore, one full pass is cheaper than a long list of ids.
INCREMENTAL_MAX = 20_000


def models_stale(workspace: Workspace) -> bool:
    """New outcomes since the models were trained (an import brought closed deals)."""
    record = WinModel.objects.filter(workspace=workspace).first()
    if record is None:
        return True
    closed = Deal.objects.filter(workspace=workspace).exclude(status="open").count()
    return closed != record.closed_deals


def recompute_threads() -> int:
    """OpenMP threads for the recompute's boosting (training, predictions, factors):
    UNSTUCK_RECOMPUTE_THREADS, by default two where there are two cores. The rest of the app
    keeps one per process (unstuck/__init__.py); a batch job may use the cores, its threads
    sleeping while they wait (OMP_WAIT_POLICY=PASSIVE there too: a spinning pool is kept at
    one thread). The boosting's results do not depend on the number of threads."""
    raw = os.environ.get("UNSTUCK_RECOMPUTE_THREADS", "").strip()
    wanted = int(raw) if raw.isdigit() and int(raw) > 0 else min(2, os.cpu_count() or 1)
    if os.environ.get("OMP_WAIT_POLICY", "").strip().upper() != "PASSIVE":
        return 1
    return wanted


def assessments_recompute(
    *, workspace: Workspace, retrain: bool = False, incremental: bool = False
) -> RecomputeResult:
    """Recompute benchmarks, then score the open deals and store their assessments.

    The win model and the stall score are trained when missing (or when asked); the nightly
    run retrains them and rescores every deal (time in stage grows for all of them).
    `incremental` (after an import or a day's edits) rescores only the deals whose inputs
    changed since their assessment and those in a stage whose benchmark moved; a retrained
    model or a changed workspace-wide benchmark still means every deal."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=recompute_threads(), user_api="openmp"):
        return _recompute(workspace=workspace, retrain=retrain, incremental=incremental)


def _recompute(*, workspace: Workspace, retrain: bool, incremental: bool) -> RecomputeResult:
    before = list(StageBenchmark.objects.filter(workspace=workspace))
    benchmarks = benchmarks_recompute(workspace=workspace)
    fitted = None if retrain else winmodel.load(workspace)
    trained = fitted is None
    if fitted is None:
        winmodel.win_model_train(workspace=workspace)
        fitted = winmodel.load(workspace)
    assert fitted is not None
    scorer = None if retrain else stall_score.stored(workspace)
    if scorer is None:
        trained = True
        scorer = stall_score.stall_model_train(workspace=workspace)
    inputs = deal_inputs(workspace)
    todo: set[int] | None = None
    stored: dict[int, str] = {}
    if incremental and not trained:
        workspace_wide, stages = benchmark_changes(before, benchmarks)
        stored = dict(
            DealAssessment.objects.filter(workspace=workspace).values_list("deal_id", "inputs")
        )
        if not workspace_wide and stored:
            todo = {
                deal_id
                for deal_id, (digest, stage_id) in inputs.items()
                if stored.get(deal_id) != digest or stage_id in stages
            }
            if len(todo) > INCREMENTAL_MAX:
                todo = None
    deals = None if todo is None else Deal.objects.filter(pk__in=sorted(todo))
    rows = signal_rows(workspace, deals=deals) if todo is None or todo else []
    stall_score.apply(scorer, rows)
    open_deals = Deal.objects.filter(workspace=workspace, status="open")
    customs = winmodel._customs([r["deal_id"] for r in rows], open_deals if todo is None else None)
    predictions = winmodel.predict(fitted, rows, customs)
    now = timezone.now()
    assessments = []
    for row, prediction in zip(rows, predictions, strict=True):
        uplift = max(0.0, prediction.comparable - prediction.probability)
        value = float(row["amount_now"] or 0)
        assessments.append(
            (
                row["deal_id"],
                workspace.pk,
                row["stall_score"],
                [s.as_dict() for s in describe(row)],
                round(prediction.probability, 4),
                round(prediction.comparable, 4),
                round(value * uplift, 2),
                prediction.factors,
                now,
                inputs.get(row["deal_id"], ("", 0))[0],
            )
        )
    with transaction.atomic():
        if todo is None:
            DealAssessment.objects.filter(workspace=workspace).delete()
        else:
            # The rescored ones, and those of deals no longer open.
            gone = set(stored) - set(inputs)
            for chunk in _chunks(sorted(todo | gone), 5000):
                DealAssessment.objects.filter(deal_id__in=chunk).delete()
        # COPY on PostgreSQL, in this same transaction: readers see the old assessments or
        # the new ones, never a mix, as with the bulk_create it replaces (sql.insert_rows).
        insert_rows(DealAssessment, ASSESSMENT_FIELDS, assessments)
        # The queue's summary, counted once here rather than on every page (investigate.tally).
        tally_rewrite(workspace_id=workspace.pk)
    # Assessments were rewritten (all of them, or the changed deals'): the queue's plans need
    # today's statistics, not yesterday's (autovacuum would come later, or not at all for a
    # small change), and the rows marked visible so the queue's covering indexes are read
    # without the table (sql.refresh_statistics).
    refresh_statistics(DealAssessment._meta.db_table)
    return RecomputeResult(
        benchmarks=len(benchmarks),
        assessed=len(assessments),
        model_kind=fitted.kind,
        full=todo is None,
        kept=0 if todo is None else len(inputs) - len(todo),
    )


# The columns the recompute writes, in the order of its tuples.
ASSESSMENT_FIELDS = (
    "deal",
    "workspace",
    "stall_score",
    "signals",
    "win_probability",
    "comparable_probability",
    "payoff",
    "factors",
    "computed_at",
    "inputs",
)


def _chunks(ids: list[int], size: int) -> list[list[int]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def assessments_schedule(*, workspace: Workspace, force: bool = False) -> bool:
    """Queue a recomputation for the worker unless one was queued in the last five minutes
    (a fresh workspace or a finished import shows its queue without waiting for the night).

    The five minutes hold across every web process and worker (a claim row, core.claims), and
    the task is queued once the caller's transaction commits, as imports queue theirs.
    """
    from unstuck.core.claims import claim
    from unstuck.investigate.tasks import recompute_workspace

    claimed = claim(f"investigate:recompute-queued:{workspace.pk}", seconds=300)
    if not claimed and not force:
        return False
    workspace_id = workspace.pk
    transaction.on_commit(lambda: recompute_workspace.enqueue(workspace_id))
    return True


SETTING_FIELDS = (
    "no_activity_days",
    "slip_count",
    "single_threaded_max",
    "champion_quiet_days",
    "economic_buyer_from_stage",
    "shrinkage_strength",
)


def stall_settings_ensure(*, workspace: Workspace) -> StallSettings:
    """Store the workspace's thresholds row with the defaults if it has none (at creation);
    safe when two callers race: the row is unique per workspace."""
    with transaction.atomic():
        record, created = StallSettings.objects.get_or_create(workspace=workspace)
        if created:
            scoring_changed(workspace)
    return record


def stall_settings_require_change(membership: Membership) -> None:
    """Who may change the thresholds: leaders (members read them)."""
    from unstuck.core.access import can_shape_workspace

    if not can_shape_workspace(membership):
        raise NotAllowed("Only leaders change the stall thresholds.")


@transaction.atomic
def stall_settings_update(*, membership: Membership, **values: int | None) -> StallSettings:
    """Leaders tune the stall thresholds; the queue is rescored in the background."""
    stall_settings_require_change(membership)
    workspace = membership.workspace
    unknown = set(values) - set(SETTING_FIELDS)
    if unknown:
        raise UnstuckError(f"Unknown settings: {', '.join(sorted(unknown))}.")
    stall_settings_ensure(workspace=workspace)
    # Locked, and only the fields given saved: two leaders saving at once keep each other's.
    record = StallSettings.objects.select_for_update().get(workspace=workspace)
    for name, value in values.items():
        setattr(record, name, value)
    _clean(record)
    record.save(update_fields=list(values))
    scoring_changed(workspace)
    assessments_schedule(workspace=workspace, force=True)
    return record


# --- the investigation ------------------------------------------------------------------


@transaction.atomic
def stakeholder_view_update(
    *,
    membership: Membership | None,
    stakeholder: Stakeholder,
    financial_concerns: str,
    factors: list[str],
    version: str | None = None,
) -> StakeholderView:
    """What one member of the committee worries about and weighs. A form passes the version
    it showed (row_version): over someone else's newer save nothing is saved (Conflict)."""
    require_deal_edit(membership, stakeholder.deal)
    unknown = set(factors) - set(Factor.values)
    if unknown:
        raise UnstuckError(f"Unknown factors: {', '.join(sorted(unknown))}.", field="factors")
    view, created = StakeholderView.objects.select_for_update().get_or_create(
        stakeholder=stakeholder
    )
    _refuse_stale(
        version,
        None if created else view,
        {"financial concerns": view.financial_concerns, "factors": ", ".join(view.factors)},
        what=f"the view of {stakeholder.contact.name}",
    )
    view.financial_concerns = financial_concerns.strip()
    view.factors = [f for f in Factor.values if f in factors]
    _clean(view)
    save_fields(view, ["financial_concerns", "factors"])
    return view


def _refuse_stale(
    version: str | None, row: object | None, now: dict[str, str], *, what: str
) -> None:
    """Conflict if the form was filled from another version of the row than the stored one,
    naming what is stored now, so the person can merge it with theirs by hand."""
    if version is None or version == row_version(row):
        return
    shown = "; ".join(f"{k}: “{v}”" for k, v in now.items() if v) or "it was cleared"
    raise Conflict(
        f"Someone saved {what} since you opened the page, so yours was not saved. "
        f"Theirs — {shown}. Reload to see it, then edit again."
    )


def _step_key(name: str) -> str:
    return " ".join(name.split()).casefold()


def decision_step_add(
    *,
    membership: Membership | None,
    deal: Deal,
    name: str,
    owner: str = "",
    status: str = StepStatus.TODO,
    notes: str = "",
) -> DecisionStep:
    """Add a step to the end of the customer's decision process; a step is there once."""
    require_deal_edit(membership, deal)
    name = " ".join(name.split())
    with transaction.atomic():
        # The deal's row is the lock: two people adding the same step at once add it once.
        Deal.objects.select_for_update().filter(pk=deal.pk).first()
        names = deal.decision_steps.values_list("name", flat=True)
        if any(_step_key(existing) == _step_key(name) for existing in names):
            raise Conflict(f"“{name}” is already a step of this decision.", field="name")
        last = deal.decision_steps.order_by("-order").values_list("order", flat=True).first()
        step = DecisionStep(
            deal=deal,
            order=(last or 0) + 1,
            name=name,
            owner=owner.strip(),
            status=status,
            notes=notes.strip(),
        )
        _clean(step)
        if status == StepStatus.STUCK:
            # One step is where the deal is bogged down; marking another moves the mark.
            deal.decision_steps.filter(status=StepStatus.STUCK).update(
                status=StepStatus.IN_PROGRESS
            )
        step.save()
    return step


def decision_step_set_status(
    *, membership: Membership | None, step: DecisionStep, status: str
) -> DecisionStep:
    require_deal_edit(membership, step.deal)
    if status not in StepStatus.values:
        raise UnstuckError("Unknown step status.", field="status")
    with transaction.atomic():
        if status == StepStatus.STUCK:
            DecisionStep.objects.filter(deal_id=step.deal_id, status=StepStatus.STUCK).exclude(
                pk=step.pk
            ).update(status=StepStatus.IN_PROGRESS)
        step.status = status
        _clean(step)
        step.save(update_fields=["status"])
    return step


def obstacle_add(
    *,
    deal: Deal,
    kind: str,
    description: str,
    evidence: str = "",
    stakeholder: Stakeholder | None = None,
    membership: Membership | None,
) -> Obstacle:
    require_deal_edit(membership, deal)
    if stakeholder is not None and stakeholder.deal_id != deal.pk:
        raise UnstuckError("That stakeholder is not on this deal.", field="stakeholder")
    obstacle = Obstacle(
        deal=deal,
        kind=kind,
        description=description.strip(),
        evidence=evidence.strip(),
        stakeholder=stakeholder,
        created_by=membership.user if membership else None,
    )
    _clean(obstacle)
    obstacle.save()
    return obstacle


def obstacle_set_status(
    *, membership: Membership | None, obstacle: Obstacle, status: str
) -> Obstacle:
    require_deal_edit(membership, obstacle.deal)
    obstacle.status = status
    _clean(obstacle)
    obstacle.save(update_fields=["status"])
    return obstacle


@transaction.atomic
def pain_update(
    *,
    membership: Membership | None,
    deal: Deal,
    pain: str,
    resolution: str,
    version: str | None = None,
) -> CustomerPain:
    """The customer's pain and how we could resolve it. A form passes the version it showed
    (row_version): over someone else's newer save nothing is saved (Conflict)."""
    require_deal_edit(membership, deal)
    record, created = CustomerPain.objects.select_for_update().get_or_create(deal=deal)
    _refuse_stale(
        version,
        None if created else record,
        {"pain": record.pain, "resolution": record.resolution},
        what="the pain and resolution",
    )
    record.pain = pain.strip()
    record.resolution = resolution.strip()
    _clean(record)
    save_fields(record, ["pain", "resolution"])
    return record


def feedback_add(
    *, membership: Membership | None, deal: Deal, kind: str, text: str
) -> FeedbackEntry:
    require_deal_edit(membership, deal)
    entry = FeedbackEntry(
        deal=deal, kind=kind, text=text.strip(), author=membership.user if membership else None
    )
    _clean(entry)
    entry.save()
    return entry


def _request_url(deal: Deal) -> str:
    path = reverse("deals:detail", kwargs={"slug": deal.workspace.slug, "pk": deal.pk})
    return absolute_url(f"{path}#investigation")


def _my_requests_url(deal: Deal) -> str:
    return absolute_url(reverse("investigate:my-requests", kwargs={"slug": deal.workspace.slug}))


def request_create(
    *, membership: Membership, deal: Deal, question: str, due_date: date
) -> InvestigationRequest:
    """A manager (or leader) of the deal asks its rep to find something out by a date."""
    from unstuck.core.access import can_edit_deal

    if membership.role not in {Role.MANAGER, Role.LEADER} or not can_edit_deal(membership, deal):
        raise NotAllowed("Only the deal's manager can ask the rep for facts.")
    if deal.owner_id is None:
        raise UnstuckError("The deal has no owner to ask.")
    if due_date < timezone.localdate():
        raise UnstuckError("The due date is in the past.", field="due_date")
    request = InvestigationRequest(
        deal=deal,
        asked_by=membership.user,
        assignee_id=deal.owner_id,
        question=question.strip(),
        due_date=due_date,
    )
    _clean(request)
    request.save()
    assert deal.owner is not None
    send_mail(
        subject=f"[Unstuck] {membership.user.display_name} asks about {deal.name}",
        message=(
            f"{membership.user.display_name} asks you to find out, by {due_date:%A %b %d}:\n\n"
            f"{request.question}\n\nAnswer it on the deal: {_request_url(deal)}\n"
            f"Everything asked of you: {_my_requests_url(deal)}\n"
        ),
        from_email=None,
        recipient_list=[deal.owner.email],
        fail_silently=True,
    )
    return request


def request_answer(
    *, membership: Membership, request: InvestigationRequest, answer: str
) -> InvestigationRequest:
    """The rep asked (or the asker) records the answer."""
    if membership.user_id not in {request.assignee_id, request.asked_by_id}:
        raise NotAllowed("Only the rep it was asked of can answer this request.")
    if not answer.strip():
        raise UnstuckError("Write the answer.", field="answer")
    request.answer = answer.strip()
    request.answered_at = timezone.now()
    _clean(request)
    request.save(update_fields=["answer", "answered_at"])
    return request
