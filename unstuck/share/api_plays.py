"""API of the playbook: plays (list, search, write, edit, verify, retire), their
applications to deals, their measured outcome, promotion of a decided session, and the
workspace trust figure. Same access rules and services as the pages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status

from unstuck.cocreate.access import get_session_for
from unstuck.core.access import deals_visible_to, get_deal_for, membership_for
from unstuck.core.apidocs import responses
from unstuck.core.errors import NotAllowed, UnstuckError
from unstuck.core.models import Membership, User
from unstuck.core.validation import DbId
from unstuck.deals.models import Deal
from unstuck.share.models import Play, PlayApplication, PlaySource
from unstuck.share.plays_access import can_curate, get_play_for
from unstuck.share.plays_outcomes import stored_outcome
from unstuck.share.selectors import plays as selectors
from unstuck.share.services import plays as services

router = Router(tags=["share: playbook"])


class PlayQuery(Schema):
    q: str = ""
    status: str = ""
    obstacle: str = ""
    stage: str = ""
    due: bool = False
    retire: bool = False


class PlaySummaryOut(Schema):
    id: int
    title: str
    status: str
    obstacle_kinds: list[str]
    stages: list[str]
    applications: int
    last_applied_at: datetime | None
    review_due_at: datetime | None
    due: bool


class PlayOut(Schema):
    id: int
    title: str
    status: str
    situation: str
    obstacle_kinds: list[str]
    stall_signals: list[str]
    stages: list[str]
    lever_families: list[str]
    what_to_do: str
    what_to_say: str
    owner: str | None
    verifier: str | None
    review_interval_days: int
    verified_at: datetime | None
    review_due_at: datetime | None
    due: bool
    retired_at: datetime | None
    retired_reason: str
    source_session_id: int | None
    source_outcome: str
    evidence_deal_ids: list[int]  # only those the caller may see
    evidence_deals_total: int
    created_at: datetime


class PlayIn(Schema):
    title: str
    what_to_do: str
    situation: str = ""
    what_to_say: str = ""
    obstacle_kinds: list[str] = []
    stall_signals: list[str] = []
    stages: list[str] = []
    lever_families: list[str] = []
    evidence_deal_ids: list[DbId] = []
    verifier: str | None = None  # an email
    review_interval_days: int = 90


class PlayPatch(Schema):
    title: str | None = None
    what_to_do: str | None = None
    situation: str | None = None
    what_to_say: str | None = None
    obstacle_kinds: list[str] | None = None
    stall_signals: list[str] | None = None
    stages: list[str] | None = None
    lever_families: list[str] | None = None
    evidence_deal_ids: list[DbId] | None = None
    verifier: str | None = None
    review_interval_days: int | None = None


class RetireIn(Schema):
    reason: str = ""


class ApplicationIn(Schema):
    deal_id: DbId
    session_id: DbId | None = None
    note: str = ""


class ApplicationOut(Schema):
    id: int
    play_id: int
    deal_id: int
    applied_by: str | None
    applied_at: datetime
    stage: str
    stall_score: int
    session_id: int | None
    source: str
    note: str


class OutcomeOut(Schema):
    summary: dict[str, Any]
    result: dict[str, Any]
    as_of: datetime | None  # when it was measured; None: not measured yet
    stale: bool  # the applications or the day changed since: a refresh is due


class RefreshOut(Schema):
    queued: bool


class TrustOut(Schema):
    active: int
    verified: int
    current: int
    due: int
    proposed_retirement: int
    pct: int | None


def _member(request: HttpRequest, slug: str) -> Membership:
    return membership_for(request.user, slug)  # type: ignore[arg-type]


def _play_out(membership: Membership, play: Play) -> dict[str, Any]:
    seen = selectors.visible_evidence(membership, play)
    return {
        "id": play.pk,
        "title": play.title,
        "status": play.status,
        "situation": play.situation,
        "obstacle_kinds": play.obstacle_kinds,
        "stall_signals": play.stall_signals,
        "stages": play.stages,
        "lever_families": play.lever_families,
        "what_to_do": play.what_to_do,
        "what_to_say": play.what_to_say,
        "owner": play.owner.email if play.owner else None,
        "verifier": play.verifier.email if play.verifier else None,
        "review_interval_days": play.review_interval_days,
        "verified_at": play.verified_at,
        "review_due_at": play.review_due_at,
        "due": play.is_due,
        "retired_at": play.retired_at,
        "retired_reason": play.retired_reason,
        "source_session_id": play.source_session_id,
        "source_outcome": play.source_outcome,
        "evidence_deal_ids": [d.pk for d in seen],
        "evidence_deals_total": play.evidence_deals.count(),
        "created_at": play.created_at,
    }


def _application_out(a: PlayApplication) -> dict[str, Any]:
    return {
        "id": a.pk,
        "play_id": a.play_id,
        "deal_id": a.deal_id,
        "applied_by": a.applied_by.email if a.applied_by else None,
        "applied_at": a.applied_at,
        "stage": a.stage.name,
        "stall_score": a.stall_score,
        "session_id": a.session_id,
        "source": a.source,
        "note": a.note,
    }


def _evidence(membership: Membership, ids: list[int]) -> list[Deal]:
    deals = list(deals_visible_to(membership).filter(pk__in=ids))
    if len(deals) != len(set(ids)):
        raise UnstuckError("Some evidence deals are not deals you can see.", field="evidence")
    return deals


def _verifier(membership: Membership, email: str | None) -> User | None:
    if not email:
        return None
    user = User.objects.filter(
        email__iexact=email, memberships__workspace_id=membership.workspace_id
    ).first()
    if user is None:
        raise UnstuckError("No such person in this workspace.", field="verifier")
    return user


@router.get("/{slug}/share/plays", response=responses({200: list[PlaySummaryOut]}, 404, 422))
def play_list(request: HttpRequest, slug: str, q: Query[PlayQuery]) -> list[dict[str, Any]]:
    """The plays you may see (reps: the verified playbook; partners: verified plays applied
    to their deals), searched (full text on PostgreSQL) and filtered."""
    membership = _member(request, slug)
    plays = selectors.play_list(
        membership,
        q=q.q,
        status=q.status,
        obstacle_kind=q.obstacle,
        stage=q.stage,
        due=q.due,
        retire=q.retire,
    )
    return [
        {
            "id": p.pk,
            "title": p.title,
            "status": p.status,
            "obstacle_kinds": p.obstacle_kinds,
            "stages": p.stages,
            "applications": p.n_applications,  # type: ignore[attr-defined]
            "last_applied_at": p.last_applied_at,  # type: ignore[attr-defined]
            "review_due_at": p.review_due_at,
            "due": p.is_due,
        }
        for p in plays
    ]


@router.post("/{slug}/share/plays", response=responses({201: PlayOut}, 400, 403, 404, 409, 422))
def play_create(request: HttpRequest, slug: str, payload: PlayIn) -> Status[dict[str, Any]]:
    """Write a play (managers and leaders); it starts as a draft."""
    membership = _member(request, slug)
    if not can_curate(membership):
        raise NotAllowed("Only managers and leaders write plays.")
    data = payload.dict()
    play = services.play_create(
        membership=membership,
        evidence=_evidence(membership, data.pop("evidence_deal_ids")),
        verifier=_verifier(membership, data.pop("verifier")),
        **data,
    )
    return Status(201, _play_out(membership, play))


@router.get("/{slug}/share/plays/trust", response=responses({200: TrustOut}, 403, 404))
def playbook_trust(request: HttpRequest, slug: str) -> dict[str, Any]:
    """How much of the playbook is verified and current (managers and leaders)."""
    membership = _member(request, slug)
    if not can_curate(membership):
        raise NotAllowed("The trust figure is for managers and leaders.")
    return selectors.playbook_trust(membership.workspace).as_dict()


@router.get("/{slug}/share/plays/{play_id}", response=responses({200: PlayOut}, 404))
def play_detail(request: HttpRequest, slug: str, play_id: int) -> dict[str, Any]:
    membership = _member(request, slug)
    return _play_out(membership, get_play_for(membership, play_id))


@router.patch(
    "/{slug}/share/plays/{play_id}",
    response=responses({200: PlayOut}, 400, 403, 404, 409, 422),
)
def play_update(
    request: HttpRequest, slug: str, play_id: int, payload: PlayPatch
) -> dict[str, Any]:
    """Edit a play (its owner, its verifier or a leader)."""
    membership = _member(request, slug)
    play = get_play_for(membership, play_id, edit=True)
    data = payload.dict(exclude_none=True)
    ids = data.pop("evidence_deal_ids", None)
    play = services.play_update(
        membership=membership,
        play=play,
        evidence=_evidence(membership, ids) if ids is not None else None,
        verifier=_verifier(membership, data.pop("verifier", None)),
        **data,
    )
    return _play_out(membership, play)


@router.post(
    "/{slug}/share/plays/{play_id}/verify",
    response=responses({200: PlayOut}, 403, 404, 409),
)
def play_verify(request: HttpRequest, slug: str, play_id: int) -> dict[str, Any]:
    """Confirm the play is right (its verifier or a leader); the review clock restarts."""
    membership = _member(request, slug)
    play = get_play_for(membership, play_id, verify=True)
    return _play_out(membership, services.play_verify(membership=membership, play=play))


@router.post(
    "/{slug}/share/plays/{play_id}/retire",
    response=responses({200: PlayOut}, 400, 403, 404, 409, 422),
)
def play_retire(request: HttpRequest, slug: str, play_id: int, payload: RetireIn) -> dict[str, Any]:
    membership = _member(request, slug)
    play = get_play_for(membership, play_id, edit=True)
    play = services.play_retire(membership=membership, play=play, reason=payload.reason)
    return _play_out(membership, play)


@router.get("/{slug}/share/plays/{play_id}/outcome", response=responses({200: OutcomeOut}, 404))
def play_outcome_api(request: HttpRequest, slug: str, play_id: int) -> dict[str, Any]:
    """The measured outcome: n, won/lost/open, the win rate per arm with its credible
    interval, the probability the play does better, the Kaplan-Meier curves, the verdict
    ("too_early" below 10 applications or 10 comparable deals), as last measured: `as_of`
    and `stale` say how fresh it is; a read never computes it. docs/share.md."""
    membership = _member(request, slug)
    return stored_outcome(get_play_for(membership, play_id))


@router.post(
    "/{slug}/share/plays/{play_id}/outcome/refresh",
    response=responses({202: RefreshOut}, 404),
)
def play_outcome_refresh(request: HttpRequest, slug: str, play_id: int) -> Status[dict[str, Any]]:
    """Queue a fresh measurement of the outcome for the background worker (a GET never
    computes it); `queued` is false when the stored figure is already today's."""
    membership = _member(request, slug)
    play = get_play_for(membership, play_id)
    return Status(202, {"queued": services.play_outcome_refresh(membership=membership, play=play)})


@router.get(
    "/{slug}/share/plays/{play_id}/applications",
    response=responses({200: list[ApplicationOut]}, 404),
)
def application_list(request: HttpRequest, slug: str, play_id: int) -> list[dict[str, Any]]:
    """The play's applications on deals you may see, newest first (at most 50)."""
    membership = _member(request, slug)
    play = get_play_for(membership, play_id)
    return [_application_out(a) for a in selectors.visible_applications(membership, play)]


@router.post(
    "/{slug}/share/plays/{play_id}/applications",
    response=responses({201: ApplicationOut}, 400, 403, 404, 409, 422),
)
def application_create(
    request: HttpRequest, slug: str, play_id: int, payload: ApplicationIn
) -> Status[dict[str, Any]]:
    """Record that the play was applied to a deal you work (its stage and stall score now)."""
    membership = _member(request, slug)
    play = get_play_for(membership, play_id)
    deal = get_deal_for(membership, payload.deal_id, write=True)
    session = (
        get_session_for(membership, payload.session_id, take_part=True)
        if payload.session_id
        else None
    )
    a = services.play_apply(
        membership=membership,
        play=play,
        deal=deal,
        session=session,
        source=PlaySource.SESSION if session else PlaySource.API,
        note=payload.note,
    )
    a.refresh_from_db()
    return Status(201, _application_out(a))


@router.post(
    "/{slug}/share/sessions/{session_id}/promote",
    response=responses({201: PlayOut}, 403, 404, 409),
)
def session_promote(request: HttpRequest, slug: str, session_id: int) -> Status[dict[str, Any]]:
    """Promote a decided co-creation session to a draft play in one call."""
    membership = _member(request, slug)
    session = get_session_for(membership, session_id)
    play = services.play_promote_session(membership=membership, session=session)
    return Status(201, _play_out(membership, play))
