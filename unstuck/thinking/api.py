"""API: check a text for biases, list and dismiss flags, read and edit the question bank,
and read training progress."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Field, Path, Query, Router, Schema, Status

from unstuck.core.access import get_deal_for, membership_for
from unstuck.core.apidocs import responses
from unstuck.core.http import AppRequest
from unstuck.core.models import Role
from unstuck.core.validation import DbId, Unset
from unstuck.thinking import selectors, services
from unstuck.thinking.access import get_flag_for, get_question_for
from unstuck.thinking.models import PerspectiveQuestion

router = Router(tags=["thinking"])


class CheckIn(Schema):
    text: str
    context: str = Field("", description="Where the text was written, e.g. deal_note.")
    situation: str | None = Field(
        None, description="rejecting, evaluating, diagnosing or reading_signals."
    )
    deal_id: DbId | None = Field(
        None, description="Attach the flags to this deal (one you may change: 403 otherwise)."
    )
    draft_key: str = Field(
        "",
        description="A text still being typed: checked and stored nowhere (its save, with the "
        "same key, records which notes were set aside or written out).",
        max_length=40,
    )
    store: bool = Field(True, description="false: only detect, store nothing.")


class FlagOut(Schema):
    id: int | None = None
    bias: str
    confidence: float
    evidence: str
    explanation: str
    questions: list[str]
    status: str = "open"


class FlagDetailOut(FlagOut):
    text: str
    context: str
    deal_id: int | None
    author: str | None = Field(None, alias="author.email")
    dismiss_reason: str
    dismissed_at: datetime | None
    created_at: datetime


class CheckOut(Schema):
    biases: list[FlagOut]


class FlagFilterIn(Schema):
    status: str | None = None
    bias: str | None = None
    deal_id: DbId | None = None
    limit: int = Field(100, ge=1, le=500)


class DismissIn(Schema):
    reason: str


class QuestionOut(Schema):
    id: int | None
    text: str
    perspective: str
    biases: list[str]
    situations: list[str]
    is_active: bool


class QuestionIn(Schema):
    text: str
    perspective: str
    biases: list[str]
    situations: list[str] | None = None


class QuestionPatch(Schema):
    """Only the fields sent change; none may be null."""

    text: str = Unset
    perspective: str = Unset
    biases: list[str] = Unset
    situations: list[str] = Unset
    is_active: bool = Unset


class BiasProgressOut(Schema):
    bias: str
    lesson_done: bool
    answered: int
    correct: int
    total: int


class ProgressOut(Schema):
    email: str = Field(..., alias="user.email")
    lessons_done: int
    lessons_total: int
    correct: int
    answered: int
    quiz_total: int
    percent: int
    per_bias: list[BiasProgressOut]


@router.post("/check", response=responses({200: CheckOut}, 400, 403, 404, 422))
def check(request: AppRequest, slug: Path[str], payload: CheckIn) -> dict[str, Any]:
    """Flag likely biases in a text, each with evidence, an explanation and questions."""
    membership = membership_for(request.user, slug)
    if not payload.store:
        return {"biases": [f.as_dict() for f in services.text_detect(payload.text)]}
    if payload.draft_key:  # drafts are never stored as flags
        if payload.deal_id:  # a note beside a deal's text, as on the page: who may change it
            get_deal_for(membership, payload.deal_id, write=True)
        return {
            "biases": services.text_preview(
                workspace=membership.workspace,
                author=request.user,
                text=payload.text,
                situation=payload.situation,
                draft_key=payload.draft_key,
            )
        }
    # An unseen deal is not found; who may attach a flag to it is the service's to say.
    deal = get_deal_for(membership, payload.deal_id) if payload.deal_id else None
    flags = services.text_flag(
        membership=membership,
        text=payload.text,
        deal=deal,
        context=payload.context,
        situation=payload.situation,
    )
    return {"biases": flags}


@router.get("/flags", response=responses({200: list[FlagDetailOut]}, 404, 422))
def flag_list(request: AppRequest, slug: Path[str], filters: Query[FlagFilterIn]) -> list[Any]:
    """Flags you may see: yours; a manager's teams' and deals'; a leader's whole workspace."""
    membership = membership_for(request.user, slug)
    qs = selectors.flags_visible_to(membership).select_related("author")
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.bias:
        qs = qs.filter(bias=filters.bias)
    if filters.deal_id:
        qs = qs.filter(deal_id=filters.deal_id)
    return list(qs[: filters.limit])


@router.post(
    "/flags/{flag_id}/dismiss", response=responses({200: FlagDetailOut}, 400, 403, 404, 409, 422)
)
def flag_dismiss(request: AppRequest, slug: Path[str], flag_id: int, payload: DismissIn) -> Any:
    membership = membership_for(request.user, slug)
    flag = get_flag_for(membership, flag_id, write=True)
    return services.flag_dismiss(membership=membership, flag=flag, reason=payload.reason)


@router.get("/questions", response=responses({200: list[QuestionOut]}, 404, 422))
def question_list(
    request: AppRequest, slug: Path[str], bias: str | None = None, situation: str | None = None
) -> list[PerspectiveQuestion]:
    membership = membership_for(request.user, slug)
    return selectors.questions_for(workspace=membership.workspace, bias=bias, situation=situation)


@router.post("/questions", response=responses({201: QuestionOut}, 400, 403, 404, 409, 422))
def question_add(
    request: AppRequest, slug: Path[str], payload: QuestionIn
) -> Status[PerspectiveQuestion]:
    membership = membership_for(request.user, slug)
    return Status(201, services.question_add(membership=membership, **payload.dict()))


@router.patch(
    "/questions/{question_id}", response=responses({200: QuestionOut}, 400, 403, 404, 409, 422)
)
def question_update(
    request: AppRequest, slug: Path[str], question_id: int, payload: QuestionPatch
) -> PerspectiveQuestion:
    membership = membership_for(request.user, slug)
    question = get_question_for(membership, question_id)
    return services.question_update(
        membership=membership, question=question, **payload.dict(exclude_unset=True)
    )


@router.get("/training/progress", response=responses({200: list[ProgressOut]}, 404))
def training_progress(request: AppRequest, slug: Path[str]) -> list[Any]:
    """Your own progress; a leader also gets every manager's."""
    membership = membership_for(request.user, slug)
    mine = selectors.training_progress(workspace=membership.workspace, user=request.user)
    if membership.role != Role.LEADER:
        return [mine]
    return [mine, *selectors.team_training_progress(membership)]
