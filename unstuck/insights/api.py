"""API for the insights app, mounted under /api/v1/workspaces: the same payload as the
insights page and `unstuck insights effectiveness`, and the check-in and pulse writes through
the same services. Reps and partners get 403; a person one may not see, 404."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from ninja import Query, Router, Schema

from unstuck.core.access import membership_for
from unstuck.core.apidocs import responses
from unstuck.core.http import AppRequest
from unstuck.core.validation import IsoDate
from unstuck.insights import selectors, services

router = Router(tags=["insights"])


class EffectivenessQuery(Schema):
    manager: str | None = None


@router.get(
    "/{slug}/insights/effectiveness", response=responses({200: dict[str, Any]}, 403, 404, 422)
)
def effectiveness(request: AppRequest, slug: str, q: Query[EffectivenessQuery]) -> Any:
    """Where the time goes (12 weeks by category), what innovation changed (each group's n,
    win rates with their interval, the speed ratio), and for leaders the room managers have.
    `manager`: whose figures (an email among those you may see; default: yours, or for a
    leader every manager side by side)."""
    membership = membership_for(request.user, slug)
    selectors.require_insights(membership)
    return selectors.effectiveness_payload(
        membership=membership,
        workspace=membership.workspace,
        email=q.manager,
        today=timezone.localdate(),
    )


class CheckInIn(Schema):
    week: IsoDate
    innovation: int
    coaching: int
    efficiency: int
    admin: int


@router.put("/{slug}/insights/checkins", response=responses({200: dict[str, Any]}, 403, 404, 422))
def checkin(request: AppRequest, slug: str, body: CheckInIn) -> Any:
    """Your own check-in for one of the last 12 weeks (a Monday); percentages adding to 100."""
    membership = membership_for(request.user, slug)
    # Managers and leaders only: the service checks.
    row = services.checkin_save(membership=membership, **body.dict())
    return {
        "week": row.week.isoformat(),
        **{c: getattr(row, c) for c in ("innovation", "coaching", "efficiency", "admin")},
    }


class PulseIn(Schema):
    empowered: int
    time_for_innovation: int
    decide_without_approval: int


@router.put("/{slug}/insights/pulse", response=responses({200: dict[str, Any]}, 403, 404, 422))
def pulse(request: AppRequest, slug: str, body: PulseIn) -> Any:
    """Your pulse for this month (managers; 1 = disagree … 5 = agree)."""
    membership = membership_for(request.user, slug)
    # Managers only: the service checks.
    row = services.pulse_answer(membership=membership, answers=body.dict())
    return {"month": row.month.isoformat()[:7], "answered": True}
