"""API of Investigate: the queue, a deal's stall signals and investigation, requests and
the investigation's writes; same access rules and services as the pages."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema, Status

from unstuck.core.access import get_deal_for, membership_for, require_role
from unstuck.core.apidocs import responses
from unstuck.core.errors import UnstuckError
from unstuck.core.http import AppRequest
from unstuck.core.models import Role
from unstuck.core.services import row_version
from unstuck.core.validation import DbId, IsoDate
from unstuck.investigate import selectors, services
from unstuck.investigate.models import InvestigationRequest

router = Router(tags=["investigate"])


class SignalOut(Schema):
    code: str
    label: str
    severity: str
    text: str


class QueueItemOut(Schema):
    deal_id: int
    external_id: str
    name: str
    stage: str
    amount: float
    stall_score: int
    win_probability: float
    comparable_probability: float
    payoff: float
    signals: list[SignalOut]
    factors: list[dict[str, Any]]
    open_requests: int


class QueueOut(Schema):
    count: int
    page: int
    pages: int
    results: list[QueueItemOut]


class QueueQuery(Schema):
    page: int = Field(1, ge=1, le=1_000_000)
    show: str = "stuck"


@router.get("/{slug}/investigate/queue", response=responses({200: QueueOut}, 403, 404, 422))
def queue(request: AppRequest, slug: str, q: Query[QueueQuery]) -> dict[str, Any]:
    """The innovation queue (managers and leaders): best payoff of innovation effort first."""
    membership = membership_for(request.user, slug)
    require_role(membership, Role.MANAGER, Role.LEADER)
    page = selectors.queue_page(membership, q.page, stuck_only=q.show != "all")
    return {
        "count": page.paginator.count,
        "page": page.number,
        "pages": page.paginator.num_pages,
        "results": [
            {
                "deal_id": a.deal_id,
                "external_id": a.deal.external_id,
                "name": a.deal.name,
                "stage": a.deal.stage.name,
                "amount": float(a.deal.amount),
                "stall_score": a.stall_score,
                "win_probability": a.win_probability,
                "comparable_probability": a.comparable_probability,
                "payoff": a.payoff,
                "signals": a.signals,
                "factors": a.factors,
                "open_requests": a.open_requests,
            }
            for a in page.object_list
        ],
    }


class StallOut(Schema):
    deal_id: int
    stage: str
    days_in_stage: float
    stall_score: int
    signals: list[SignalOut]


@router.get(
    "/{slug}/investigate/deals/{deal_id}/signals", response=responses({200: StallOut}, 404, 409)
)
def deal_signals(request: AppRequest, slug: str, deal_id: int) -> Any:
    membership = membership_for(request.user, slug)
    deal = get_deal_for(membership, deal_id)
    row = selectors.deal_stall(deal)
    if row is None:
        return Status(409, {"detail": "The deal is closed; signals are for open deals."})
    return {
        "deal_id": deal.pk,
        "stage": row["stage_name"],
        "days_in_stage": round(float(row["days_in_stage"] or 0), 1),
        "stall_score": row["stall_score"],
        "signals": [s.as_dict() for s in row["signals"]],
    }


class DiagnoseQuery(Schema):
    as_of: IsoDate | None = None


@router.get(
    "/{slug}/investigate/diagnose", response=responses({200: list[dict[str, Any]]}, 404, 422)
)
def diagnose(request: AppRequest, slug: str, q: Query[DiagnoseQuery]) -> Any:
    """Open deals you may see (as of a date, from the history known then), worst first."""
    membership = membership_for(request.user, slug)
    as_of = None
    if q.as_of:
        from datetime import UTC, time

        as_of = datetime.combine(q.as_of, time(23, 59, 59), tzinfo=UTC)
    return selectors.diagnosis(membership, membership.workspace, as_of=as_of)


class ChecklistOut(Schema):
    label: str
    done: bool
    hint: str


class RequestOut(Schema):
    id: int
    question: str
    due_date: date
    answer: str
    answered_at: datetime | None
    asked_by: str | None
    assignee: str | None
    overdue: bool


class InvestigationOut(Schema):
    deal_id: int
    completeness: int
    checklist: list[ChecklistOut]
    stuck_step: str | None
    requests: list[RequestOut]


def _request_out(r: InvestigationRequest) -> dict[str, Any]:
    return {
        "id": r.pk,
        "question": r.question,
        "due_date": r.due_date,
        "answer": r.answer,
        "answered_at": r.answered_at,
        "asked_by": r.asked_by.email if r.asked_by else None,
        "assignee": r.assignee.email if r.assignee else None,
        "overdue": r.is_overdue,
    }


@router.get(
    "/{slug}/investigate/deals/{deal_id}/investigation",
    response=responses({200: InvestigationOut}, 404),
)
def investigation(request: AppRequest, slug: str, deal_id: int) -> dict[str, Any]:
    membership = membership_for(request.user, slug)
    inv = selectors.deal_investigation(get_deal_for(membership, deal_id))
    return {
        "deal_id": deal_id,
        "completeness": inv.completeness,
        "checklist": [vars(i) for i in inv.checklist],
        "stuck_step": inv.stuck_step.name if inv.stuck_step else None,
        "requests": [
            {
                "id": r.pk,
                "question": r.question,
                "due_date": r.due_date,
                "answer": r.answer,
                "answered_at": r.answered_at,
                "asked_by": r.asked_by_email,
                "assignee": r.assignee_email,
                "overdue": r.is_overdue,
            }
            for r in inv.requests
        ],
    }


class RequestIn(Schema):
    question: str
    due_date: IsoDate


@router.post(
    "/{slug}/investigate/deals/{deal_id}/requests",
    response=responses({201: RequestOut}, 400, 403, 404, 409, 422),
)
def request_create(
    request: AppRequest, slug: str, deal_id: int, payload: RequestIn
) -> Status[dict[str, Any]]:
    membership = membership_for(request.user, slug)
    deal = get_deal_for(membership, deal_id, write=True)
    created = services.request_create(
        membership=membership, deal=deal, question=payload.question, due_date=payload.due_date
    )
    return Status(201, _request_out(created))


class AnswerIn(Schema):
    answer: str


@router.post(
    "/{slug}/investigate/deals/{deal_id}/requests/{request_id}/answer",
    response=responses({200: RequestOut}, 400, 403, 404, 409, 422),
)
def request_answer(
    request: AppRequest, slug: str, deal_id: int, request_id: int, payload: AnswerIn
) -> dict[str, Any]:
    membership = membership_for(request.user, slug)
    deal = get_deal_for(membership, deal_id)
    item = get_object_or_404(InvestigationRequest, pk=request_id, deal=deal)
    try:
        answered = services.request_answer(
            membership=membership, request=item, answer=payload.answer
        )
    except UnstuckError as exc:
        if exc.status_code == 403:
            raise PermissionDenied(exc.message) from exc
        raise
    return _request_out(answered)


class ObstacleIn(Schema):
    kind: str
    description: str
    evidence: str = ""
    stakeholder_id: DbId | None = None


@router.post(
    "/{slug}/investigate/deals/{deal_id}/obstacles",
    response=responses({201: dict}, 400, 403, 404, 409, 422),
)
def obstacle_add(
    request: AppRequest, slug: str, deal_id: int, payload: ObstacleIn
) -> Status[dict[str, Any]]:
    membership = membership_for(request.user, slug)
    deal = get_deal_for(membership, deal_id, write=True)
    stakeholder = (
        get_object_or_404(deal.stakeholders, pk=payload.stakeholder_id)
        if payload.stakeholder_id
        else None
    )
    obstacle = services.obstacle_add(
        deal=deal,
        kind=payload.kind,
        description=payload.description,
        evidence=payload.evidence,
        stakeholder=stakeholder,
        membership=membership,
    )
    return Status(201, {"id": obstacle.pk})


class PainIn(Schema):
    pain: str
    resolution: str
    # The version a client read (from a previous answer): a save over a newer one is a 409.
    version: str | None = None


@router.put(
    "/{slug}/investigate/deals/{deal_id}/pain",
    response=responses({200: dict}, 400, 403, 404, 409, 422),
)
def pain_update(request: AppRequest, slug: str, deal_id: int, payload: PainIn) -> dict[str, Any]:
    membership = membership_for(request.user, slug)
    deal = get_deal_for(membership, deal_id, write=True)
    record = services.pain_update(
        membership=membership,
        deal=deal,
        pain=payload.pain,
        resolution=payload.resolution,
        version=payload.version,
    )
    return {
        "pain": record.pain,
        "resolution": record.resolution,
        "version": row_version(record),
    }


class FeedbackIn(Schema):
    kind: str
    text: str


@router.post(
    "/{slug}/investigate/deals/{deal_id}/feedback",
    response=responses({201: dict}, 400, 403, 404, 409, 422),
)
def feedback_add(
    request: AppRequest, slug: str, deal_id: int, payload: FeedbackIn
) -> Status[dict[str, Any]]:
    membership = membership_for(request.user, slug)
    deal = get_deal_for(membership, deal_id, write=True)
    entry = services.feedback_add(
        deal=deal,
        kind=payload.kind,
        text=payload.text,
        membership=membership,
    )
    return Status(201, {"id": entry.pk})


class StepIn(Schema):
    name: str
    owner: str = ""
    status: str = "todo"


@router.post(
    "/{slug}/investigate/deals/{deal_id}/steps",
    response=responses({201: dict}, 400, 403, 404, 409, 422),
)
def step_add(
    request: AppRequest, slug: str, deal_id: int, payload: StepIn
) -> Status[dict[str, Any]]:
    membership = membership_for(request.user, slug)
    deal = get_deal_for(membership, deal_id, write=True)
    step = services.decision_step_add(
        membership=membership,
        deal=deal,
        name=payload.name,
        owner=payload.owner,
        status=payload.status,
    )
    return Status(201, {"id": step.pk, "order": step.order})


class ViewIn(Schema):
    financial_concerns: str = ""
    factors: list[str] = []
    version: str | None = None


@router.put(
    "/{slug}/investigate/deals/{deal_id}/stakeholders/{stakeholder_id}/view",
    response=responses({200: dict}, 400, 403, 404, 409, 422),
)
def stakeholder_view(
    request: AppRequest, slug: str, deal_id: int, stakeholder_id: int, payload: ViewIn
) -> dict[str, Any]:
    membership = membership_for(request.user, slug)
    deal = get_deal_for(membership, deal_id, write=True)
    stakeholder = get_object_or_404(deal.stakeholders, pk=stakeholder_id)
    view = services.stakeholder_view_update(
        membership=membership,
        stakeholder=stakeholder,
        financial_concerns=payload.financial_concerns,
        factors=payload.factors,
        version=payload.version,
    )
    return {
        "financial_concerns": view.financial_concerns,
        "factors": view.factors,
        "version": row_version(view),
    }


class SettingsIO(Schema):
    no_activity_days: int | None = None
    slip_count: int = 2
    single_threaded_max: int = 1
    champion_quiet_days: int = 21
    economic_buyer_from_stage: int = 1
    shrinkage_strength: int = 20


@router.get("/{slug}/investigate/settings", response=responses({200: SettingsIO}, 403, 404))
def settings_read(request: AppRequest, slug: str) -> Any:
    from unstuck.investigate.benchmarks import stall_settings_for

    membership = membership_for(request.user, slug)
    require_role(membership, Role.LEADER, Role.MANAGER, Role.REP)  # partners: not theirs
    return stall_settings_for(membership.workspace)


@router.put(
    "/{slug}/investigate/settings", response=responses({200: SettingsIO}, 400, 403, 404, 409, 422)
)
def settings_update(request: AppRequest, slug: str, payload: SettingsIO) -> Any:
    """Leaders tune the stall thresholds; the queue is rescored in the background."""
    membership = membership_for(request.user, slug)
    return services.stall_settings_update(membership=membership, **payload.model_dump())
