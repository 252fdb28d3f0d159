"""API of co-creation: suggestions for a deal, sessions and everything done in them, approvals
and levers; same access rules and services as the pages."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from ninja import Router, Status

from unstuck.cocreate import selectors, services
from unstuck.cocreate.access import (
    get_approval_for,
    get_lever_for,
    get_session_for,
    sessions_visible_to,
)
from unstuck.cocreate.generator import suggest_for
from unstuck.cocreate.models import ApprovalRequest, CocreateSettings, Lever, Option, Session
from unstuck.cocreate.schemas import (
    ActionItemIn,
    ActionItemOut,
    ApprovalDecisionIn,
    ApprovalIn,
    ApprovalOut,
    ChecklistIn,
    CommentIn,
    CommentOut,
    DecideIn,
    GuardrailsIO,
    LeverIn,
    LeverOut,
    LeverPatch,
    OptionIn,
    OptionOut,
    OutcomeIn,
    ScoreIn,
    SessionIn,
    SessionOut,
    SessionSummaryOut,
    SuggestionIn,
    SuggestionOut,
)
from unstuck.core.access import get_deal_for, membership_for, require_role
from unstuck.core.apidocs import responses
from unstuck.core.errors import UnstuckError
from unstuck.core.http import AppRequest
from unstuck.core.models import Membership, Role
from unstuck.investigate.models import Obstacle

router = Router(tags=["cocreate"])


def _member(request: AppRequest, slug: str) -> Membership:
    return membership_for(request.user, slug)


def _session_out(membership: Membership, session: Session) -> dict[str, Any]:
    record = selectors.session_record(membership, session)
    me = membership.user_id
    return {
        "id": session.pk,
        "deal_id": session.deal_id,
        "phase": session.phase,
        "ideal_outcome": session.ideal_outcome,
        "obstacles": list(session.obstacles.values_list("pk", flat=True)),
        "min_options": record.min_options,
        "options": [
            {
                "id": r.option.pk,
                "title": r.option.title,
                "description": r.option.description,
                "author": r.option.author.email if r.option.author else None,
                "source": r.option.source,
                "suggestion_key": r.option.suggestion_key,
                "discount_pct": r.option.discount_pct,
                "term_months": r.option.term_months,
                "payment_terms": r.option.payment_terms,
                "clauses": r.option.clauses,
                "is_chosen": r.option.is_chosen,
                "beyond_guardrails": r.breaches,
                "approved": r.approved,
                "scores": {**r.averages, "scorers": r.scorers},
            }
            for r in sorted(record.rows, key=lambda r: r.option.pk)
        ],
        # Held comments reach only their writer until the session converges.
        "comments": [
            {
                "id": c.pk,
                "option_id": c.option_id,
                "author": c.author.email if c.author else None,
                "text": c.text,
                "held": c.held and c.released_at is None,
                "created_at": c.created_at,
            }
            for c in session.comments.select_related("author")
            if not (c.held and c.released_at is None) or c.author_id == me
        ],
        "alternatives_considered": session.alternatives_considered,
        "dissent_explored": session.dissent_explored,
        "premortem": session.premortem,
        "rationale": session.rationale,
        "action_items": [
            {
                "id": a.pk,
                "text": a.text,
                "owner": a.owner.email if a.owner else None,
                "due_date": a.due_date,
                "done": a.done_at is not None,
            }
            for a in record.action_items
        ],
        "outcome": session.outcome,
        "outcome_note": session.outcome_note,
        "created_at": session.created_at,
    }


def _approval_out(a: ApprovalRequest) -> dict[str, Any]:
    return {
        "id": a.pk,
        "option_id": a.option_id,
        "session_id": a.option.session_id,
        "status": a.status,
        "breaches": a.breaches,
        "terms": a.terms,
        "note": a.note,
        "requested_by": a.requested_by.email if a.requested_by else None,
        "decided_by": a.decided_by.email if a.decided_by else None,
        "reason": a.reason,
        "created_at": a.created_at,
        "decided_at": a.decided_at,
    }


@router.get(
    "/{slug}/cocreate/deals/{deal_id}/suggestions",
    response=responses({200: list[SuggestionOut]}, 403, 404),
)
def suggestions(request: AppRequest, slug: str, deal_id: int) -> list[dict[str, Any]]:
    """Proposals for a deal from its obstacles, committee and stage (managers, leaders)."""
    membership = _member(request, slug)
    require_role(membership, Role.MANAGER, Role.LEADER)
    deal = get_deal_for(membership, deal_id)
    return [s.as_dict() for s in suggest_for(deal)]


@router.get("/{slug}/cocreate/sessions", response=responses({200: list[SessionSummaryOut]}, 404))
def session_list(request: AppRequest, slug: str) -> list[Session]:
    membership = _member(request, slug)
    return list(sessions_visible_to(membership).order_by("-created_at")[:200])


@router.post(
    "/{slug}/cocreate/sessions", response=responses({201: SessionOut}, 400, 403, 404, 409, 422)
)
def session_start(request: AppRequest, slug: str, payload: SessionIn) -> Status[dict[str, Any]]:
    membership = _member(request, slug)
    deal = get_deal_for(membership, payload.deal_id, write=True)
    obstacles = list(Obstacle.objects.filter(deal=deal, pk__in=payload.obstacle_ids))
    if len(obstacles) != len(set(payload.obstacle_ids)):
        raise UnstuckError("Some of those obstacles are not on this deal.", field="obstacle_ids")
    session = services.session_start(
        membership=membership, deal=deal, ideal_outcome=payload.ideal_outcome, obstacles=obstacles
    )
    return Status(201, _session_out(membership, session))


@router.get("/{slug}/cocreate/sessions/{session_id}", response=responses({200: SessionOut}, 404))
def session_detail(request: AppRequest, slug: str, session_id: int) -> dict[str, Any]:
    membership = _member(request, slug)
    return _session_out(membership, get_session_for(membership, session_id))


@router.get(
    "/{slug}/cocreate/sessions/{session_id}/suggestions",
    response=responses({200: list[SuggestionOut]}, 403, 404),
)
def session_suggestions(request: AppRequest, slug: str, session_id: int) -> list[dict[str, Any]]:
    membership = _member(request, slug)
    session = get_session_for(membership, session_id, take_part=True)
    return [s.as_dict() for s in selectors.open_suggestions(session)]


@router.post(
    "/{slug}/cocreate/sessions/{session_id}/options",
    response=responses({201: OptionOut}, 400, 403, 404, 409, 422),
)
def option_add(
    request: AppRequest, slug: str, session_id: int, payload: OptionIn
) -> Status[dict[str, Any]]:
    membership = _member(request, slug)
    session = get_session_for(membership, session_id, take_part=True)
    option = services.session_add_option(membership=membership, session=session, **payload.dict())
    return Status(201, _option_out(membership, session, option))


def _option_out(membership: Membership, session: Session, option: Option) -> dict[str, Any]:
    session.refresh_from_db()
    out = _session_out(membership, session)
    return next(o for o in out["options"] if o["id"] == option.pk)


@router.post(
    "/{slug}/cocreate/sessions/{session_id}/suggestions/accept",
    response=responses({201: OptionOut}, 400, 403, 404, 409, 422),
)
def suggestion_accept(
    request: AppRequest, slug: str, session_id: int, payload: SuggestionIn
) -> Status[dict[str, Any]]:
    membership = _member(request, slug)
    session = get_session_for(membership, session_id, take_part=True)
    edits = payload.dict(exclude={"key"}, exclude_none=True)
    option = services.suggestion_accept(
        membership=membership, session=session, key=payload.key, edits=edits or None
    )
    return Status(201, _option_out(membership, session, option))


@router.post(
    "/{slug}/cocreate/sessions/{session_id}/suggestions/ignore",
    response=responses({204: None}, 400, 403, 404, 409, 422),
)
def suggestion_ignore(
    request: AppRequest, slug: str, session_id: int, payload: SuggestionIn
) -> Status[None]:
    membership = _member(request, slug)
    session = get_session_for(membership, session_id, take_part=True)
    services.suggestion_ignore(membership=membership, session=session, key=payload.key)
    return Status(204, None)


@router.post(
    "/{slug}/cocreate/sessions/{session_id}/comments",
    response=responses({201: CommentOut}, 400, 403, 404, 409, 422),
)
def comment_add(
    request: AppRequest, slug: str, session_id: int, payload: CommentIn
) -> Status[dict[str, Any]]:
    membership = _member(request, slug)
    session = get_session_for(membership, session_id, take_part=True)
    option = (
        get_object_or_404(Option, pk=payload.option_id, session=session)
        if payload.option_id
        else None
    )
    c = services.session_comment(
        membership=membership, session=session, text=payload.text, option=option
    )
    return Status(
        201,
        {
            "id": c.pk,
            "option_id": c.option_id,
            "author": membership.user.email,
            "text": c.text,
            "held": c.held,
            "created_at": c.created_at,
        },
    )


@router.post(
    "/{slug}/cocreate/sessions/{session_id}/converge",
    response=responses({200: SessionOut}, 400, 403, 404, 409),
)
def converge(request: AppRequest, slug: str, session_id: int) -> dict[str, Any]:
    membership = _member(request, slug)
    session = get_session_for(membership, session_id, lead=True)
    services.session_converge(membership=membership, session=session)
    return _session_out(membership, session)


@router.post(
    "/{slug}/cocreate/sessions/{session_id}/options/{option_id}/score",
    response=responses({200: OptionOut}, 400, 403, 404, 409, 422),
)
def option_score(
    request: AppRequest, slug: str, session_id: int, option_id: int, payload: ScoreIn
) -> dict[str, Any]:
    membership = _member(request, slug)
    session = get_session_for(membership, session_id, take_part=True)
    option = get_object_or_404(Option, pk=option_id, session=session)
    services.option_score(membership=membership, option=option, **payload.dict())
    return _option_out(membership, session, option)


@router.post(
    "/{slug}/cocreate/sessions/{session_id}/checklist",
    response=responses({200: SessionOut}, 400, 403, 404, 409, 422),
)
def checklist(
    request: AppRequest, slug: str, session_id: int, payload: ChecklistIn
) -> dict[str, Any]:
    membership = _member(request, slug)
    session = get_session_for(membership, session_id, lead=True)
    services.session_checklist(membership=membership, session=session, **payload.dict())
    return _session_out(membership, session)


@router.post(
    "/{slug}/cocreate/sessions/{session_id}/options/{option_id}/approval",
    response=responses({201: ApprovalOut}, 400, 403, 404, 409, 422),
)
def approval_request(
    request: AppRequest, slug: str, session_id: int, option_id: int, payload: ApprovalIn
) -> Status[dict[str, Any]]:
    membership = _member(request, slug)
    session = get_session_for(membership, session_id, lead=True)
    option = get_object_or_404(Option, pk=option_id, session=session)
    approval = services.approval_request(membership=membership, option=option, note=payload.note)
    return Status(201, _approval_out(approval))


@router.post(
    "/{slug}/cocreate/sessions/{session_id}/decide",
    response=responses({200: SessionOut}, 400, 403, 404, 409, 422),
)
def decide(request: AppRequest, slug: str, session_id: int, payload: DecideIn) -> dict[str, Any]:
    membership = _member(request, slug)
    session = get_session_for(membership, session_id, lead=True)
    options = list(session.options.filter(pk__in=payload.option_ids))
    if len(options) != len(set(payload.option_ids)):
        raise UnstuckError("Some of those options are not in this session.", field="option_ids")
    services.session_decide(
        membership=membership, session=session, options=options, rationale=payload.rationale
    )
    return _session_out(membership, session)


@router.post(
    "/{slug}/cocreate/sessions/{session_id}/actions",
    response=responses({201: ActionItemOut}, 400, 403, 404, 409, 422),
)
def action_add(
    request: AppRequest, slug: str, session_id: int, payload: ActionItemIn
) -> Status[dict[str, Any]]:
    membership = _member(request, slug)
    session = get_session_for(membership, session_id, lead=True)
    owner = get_object_or_404(
        Membership.objects.select_related("user"),
        workspace_id=session.workspace_id,
        user_id=payload.owner_id,
    ).user
    item = services.action_item_add(
        membership=membership,
        session=session,
        text=payload.text,
        owner=owner,
        due_date=payload.due_date,
    )
    return Status(
        201,
        {
            "id": item.pk,
            "text": item.text,
            "owner": owner.email,
            "due_date": item.due_date,
            "done": False,
        },
    )


@router.post(
    "/{slug}/cocreate/sessions/{session_id}/outcome",
    response=responses({200: SessionOut}, 400, 403, 404, 409, 422),
)
def outcome(request: AppRequest, slug: str, session_id: int, payload: OutcomeIn) -> dict[str, Any]:
    membership = _member(request, slug)
    session = get_session_for(membership, session_id, lead=True)
    services.session_record_outcome(
        membership=membership, session=session, outcome=payload.outcome, note=payload.note
    )
    return _session_out(membership, session)


@router.get("/{slug}/cocreate/approvals", response=responses({200: list[ApprovalOut]}, 404))
def approval_list(request: AppRequest, slug: str) -> list[dict[str, Any]]:
    membership = _member(request, slug)
    return [_approval_out(a) for a in selectors.pending_approvals(membership)]


@router.post(
    "/{slug}/cocreate/approvals/{approval_id}",
    response=responses({200: ApprovalOut}, 400, 403, 404, 409, 422),
)
def approval_decide(
    request: AppRequest, slug: str, approval_id: int, payload: ApprovalDecisionIn
) -> dict[str, Any]:
    membership = _member(request, slug)
    approval = get_approval_for(membership, approval_id, decide=True)
    services.approval_decide(
        membership=membership, approval=approval, approve=payload.approve, reason=payload.reason
    )
    return _approval_out(approval)


@router.get("/{slug}/cocreate/levers", response=responses({200: list[LeverOut]}, 403, 404))
def lever_list(request: AppRequest, slug: str) -> list[Lever]:
    membership = _member(request, slug)
    require_role(membership, Role.MANAGER, Role.LEADER)
    return list(Lever.objects.filter(workspace=membership.workspace))


@router.post(
    "/{slug}/cocreate/levers", response=responses({201: LeverOut}, 400, 403, 404, 409, 422)
)
def lever_add(request: AppRequest, slug: str, payload: LeverIn) -> Status[Lever]:
    """Leaders add a lever to the workspace's catalogue (the service checks who may)."""
    membership = _member(request, slug)
    return Status(201, services.lever_save(membership=membership, **payload.dict()))


@router.patch(
    "/{slug}/cocreate/levers/{lever_id}",
    response=responses({200: LeverOut}, 400, 403, 404, 409, 422),
)
def lever_update(request: AppRequest, slug: str, lever_id: int, payload: LeverPatch) -> Lever:
    membership = _member(request, slug)
    lever = get_lever_for(membership, lever_id, write=True)
    return services.lever_save(
        membership=membership, lever=lever, **payload.dict(exclude_unset=True)
    )


@router.get("/{slug}/cocreate/guardrails", response=responses({200: GuardrailsIO}, 403, 404))
def guardrails_read(request: AppRequest, slug: str) -> CocreateSettings:
    """What a manager may offer alone (managers and leaders)."""
    membership = _member(request, slug)
    require_role(membership, Role.MANAGER, Role.LEADER)
    return services.settings_for(membership.workspace)


@router.put(
    "/{slug}/cocreate/guardrails", response=responses({200: GuardrailsIO}, 400, 403, 404, 409, 422)
)
def guardrails_update(request: AppRequest, slug: str, payload: GuardrailsIO) -> CocreateSettings:
    membership = _member(request, slug)  # leaders only: the service checks
    return services.settings_update(membership=membership, **payload.dict())
