"""API: the pipeline, a deal with its history, stage moves and the buying committee."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema, Status

from unstuck.core.access import can_edit_deal, get_deal_for, membership_for
from unstuck.core.apidocs import responses
from unstuck.core.errors import UnstuckError
from unstuck.core.http import AppRequest
from unstuck.core.validation import DbId, IsoDate, Unset
from unstuck.deals import selectors, services
from unstuck.deals.models import Deal, Stage, Stakeholder

router = Router(tags=["deals"])


class StageOut(Schema):
    id: int
    name: str
    kind: str
    order: int
    probability: int


class DealOut(Schema):
    id: int
    external_id: str
    source: str
    name: str
    account: str | None = Field(None, alias="account.name")
    owner: str | None = Field(None, alias="owner.email")
    team: str | None = Field(None, alias="team.name")
    pipeline: str = Field(..., alias="pipeline.name")
    stage: StageOut
    status: str
    amount: Decimal
    currency: str
    close_date: date | None
    created_at: datetime
    stage_entered_at: datetime
    last_activity_at: datetime | None
    next_step: str


# The deal list reads its rows as values, each DealOut field from its column, and builds the
# page from them without validating it again (their types are the schema's: the database's):
# five model instances per row, then ninja's validation of each field through its getter
# (about 1,100 calls a page), cost most of the list's CPU. Ninja serialises the page like any
# other response; a test holds it equal to the validated one.
LIST_COLUMNS = {
    "id": "pk",
    "external_id": "external_id",
    "source": "source",
    "name": "name",
    "account": "account__name",
    "owner": "owner__email",
    "team": "team__name",
    "pipeline": "pipeline__name",
    "status": "status",
    "amount": "amount",
    "currency": "currency",
    "close_date": "close_date",
    "created_at": "created_at",
    "stage_entered_at": "stage_entered_at",
    "last_activity_at": "last_activity_at",
    "next_step": "next_step",
}
STAGE_COLUMNS = {
    "id": "stage_id",
    "name": "stage__name",
    "kind": "stage__kind",
    "order": "stage__order",
    "probability": "stage__probability",
}


class DealPage(Schema):
    count: int
    page: int
    pages: int
    results: list[DealOut]


class TimelineStepOut(Schema):
    stage: str
    kind: str
    entered_at: datetime
    left_at: datetime | None
    days: int
    amount: Decimal | None
    close_date: date | None
    went_back: bool


class ContactOut(Schema):
    id: int
    name: str
    title: str
    email: str


class StakeholderOut(Schema):
    id: int
    contact: ContactOut
    buying_role: str
    influence: int
    stance: str
    notes: str


class ActivityOut(Schema):
    kind: str
    occurred_at: datetime
    direction: str
    summary: str


class DealDetailOut(DealOut):
    custom: dict[str, Any]
    can_edit: bool
    timeline: list[TimelineStepOut]
    stakeholders: list[StakeholderOut]
    activities: list[ActivityOut] = Field(..., alias="recent_activities")


class DealFilterIn(Schema):
    status: str = "open"
    team: DbId | None = None
    owner: DbId | None = None
    stage: DbId | None = None
    q: str = ""
    sort: str = "amount"
    page: int = Field(1, ge=1, le=1_000_000)


class StageMoveIn(Schema):
    stage: DbId | str = Field(..., description="The stage's id or its name in the deal's pipeline.")
    amount: Decimal | None = None
    close_date: IsoDate | None = None


class StakeholderIn(Schema):
    name: str
    title: str = ""
    email: str = ""
    buying_role: str
    influence: int = 2
    stance: str = "unknown"
    notes: str = ""


class StakeholderPatch(Schema):
    """Only the fields sent change; none may be null."""

    name: str = Unset
    title: str = Unset
    email: str = Unset
    buying_role: str = Unset
    influence: int = Unset
    stance: str = Unset
    notes: str = Unset


@router.get("/{slug}/deals", response=responses({200: DealPage}, 400, 404, 422))
def deal_list(request: AppRequest, slug: str, filters: Query[DealFilterIn]) -> DealPage:
    membership = membership_for(request.user, slug)
    parsed = selectors.PipelineFilters.from_query(filters.dict())
    if parsed.errors:
        raise UnstuckError(" ".join(parsed.errors))
    paginator = Paginator(
        selectors.pipeline_deals(membership, parsed).values(
            *LIST_COLUMNS.values(), *STAGE_COLUMNS.values()
        ),
        settings.UNSTUCK_PAGE_SIZE,
    )
    if filters.page < 1 or (filters.page > paginator.num_pages):
        raise UnstuckError(f"Page {filters.page} is out of range 1 to {paginator.num_pages}.")
    page = paginator.page(filters.page)
    return DealPage.model_construct(
        count=paginator.count,
        page=page.number,
        pages=paginator.num_pages,
        results=[
            DealOut.model_construct(
                **{key: row[column] for key, column in LIST_COLUMNS.items()},
                stage=StageOut.model_construct(
                    **{key: row[column] for key, column in STAGE_COLUMNS.items()}
                ),
            )
            for row in page.object_list
        ],
    )


def _detail(membership: Any, deal: Deal) -> Deal:
    """The deal with what the detail schema adds: access, timeline and recent activities."""
    deal.can_edit = can_edit_deal(membership, deal)  # type: ignore[attr-defined]
    deal.timeline = [  # type: ignore[attr-defined]
        {
            "stage": step.stage.name,
            "kind": step.stage.kind,
            "entered_at": step.entered_at,
            "left_at": step.left_at,
            "days": step.days,
            "amount": step.amount,
            "close_date": step.close_date,
            "went_back": step.went_back,
        }
        for step in selectors.deal_timeline(deal)
    ]
    deal.recent_activities = list(deal.activities.all()[:50])  # type: ignore[attr-defined]
    return deal


@router.get("/{slug}/deals/{deal_id}", response=responses({200: DealDetailOut}, 404))
def deal_detail(request: AppRequest, slug: str, deal_id: int) -> Deal:
    membership = membership_for(request.user, slug)
    return _detail(membership, get_deal_for(membership, deal_id))


@router.post(
    "/{slug}/deals/{deal_id}/stage",
    response=responses({200: DealDetailOut}, 400, 403, 404, 409, 422),
)
def deal_move(request: AppRequest, slug: str, deal_id: int, payload: StageMoveIn) -> Deal:
    membership = membership_for(request.user, slug)
    deal = get_deal_for(membership, deal_id, write=True)
    stages = Stage.objects.filter(pipeline_id=deal.pipeline_id)
    key = payload.stage
    stage = (
        stages.filter(pk=key).first()
        if isinstance(key, int)
        else stages.filter(name__iexact=key.strip()).first()
    )
    if stage is None:
        names = ", ".join(stages.values_list("name", flat=True))
        raise UnstuckError(
            f"No stage '{key}' in the {deal.pipeline} pipeline; use one of: {names}."
        )
    services.deal_move_to_stage(
        deal=deal,
        stage=stage,
        by=membership,
        amount=payload.amount,
        close_date=payload.close_date,
    )
    return _detail(membership, get_deal_for(membership, deal_id))


@router.get(
    "/{slug}/deals/{deal_id}/stakeholders", response=responses({200: list[StakeholderOut]}, 404)
)
def stakeholder_list(request: AppRequest, slug: str, deal_id: int) -> list[Stakeholder]:
    membership = membership_for(request.user, slug)
    deal = get_deal_for(membership, deal_id)
    return list(deal.stakeholders.select_related("contact"))


@router.post(
    "/{slug}/deals/{deal_id}/stakeholders",
    response=responses({201: StakeholderOut}, 400, 403, 404, 409, 422),
)
def stakeholder_add(
    request: AppRequest, slug: str, deal_id: int, payload: StakeholderIn
) -> Status[Stakeholder]:
    membership = membership_for(request.user, slug)
    deal = get_deal_for(membership, deal_id)
    return Status(201, services.stakeholder_add(membership=membership, deal=deal, **payload.dict()))


@router.patch(
    "/{slug}/deals/{deal_id}/stakeholders/{stakeholder_id}",
    response=responses({200: StakeholderOut}, 400, 403, 404, 409, 422),
)
def stakeholder_update(
    request: AppRequest, slug: str, deal_id: int, stakeholder_id: int, payload: StakeholderPatch
) -> Stakeholder:
    membership = membership_for(request.user, slug)
    deal = get_deal_for(membership, deal_id)
    stakeholder = get_object_or_404(
        Stakeholder.objects.select_related("contact", "deal"), pk=stakeholder_id, deal=deal
    )
    return services.stakeholder_update(
        membership=membership, stakeholder=stakeholder, **payload.dict(exclude_unset=True)
    )


@router.delete(
    "/{slug}/deals/{deal_id}/stakeholders/{stakeholder_id}",
    response=responses({204: None}, 403, 404),
)
def stakeholder_delete(
    request: AppRequest, slug: str, deal_id: int, stakeholder_id: int
) -> Status[None]:
    membership = membership_for(request.user, slug)
    deal = get_deal_for(membership, deal_id)
    stakeholder = get_object_or_404(
        Stakeholder.objects.select_related("deal"), pk=stakeholder_id, deal=deal
    )
    services.stakeholder_remove(membership=membership, stakeholder=stakeholder)
    return Status(204, None)
