"""API for the digest: this week's digest as built for the caller, their email settings,
and the workspace's schedule."""

from __future__ import annotations

from datetime import date

from ninja import Field, Router, Schema

from unstuck.core.access import membership_for
from unstuck.core.apidocs import responses
from unstuck.core.http import AppRequest
from unstuck.core.validation import Unset
from unstuck.share import digest_send as send
from unstuck.share.digest import digest_build
from unstuck.share.models import DigestSchedule, PersonPreference

router = Router(tags=["digest"])


class ItemOut(Schema):
    title: str
    url: str
    lead: str
    lead_by: str
    detail: str


class SectionOut(Schema):
    key: str
    title: str
    items: list[ItemOut]
    more: int
    nudge: bool


class DigestOut(Schema):
    week: date
    empty: bool = Field(..., description="True when no email would be sent.")
    sections: list[SectionOut]


class PreferenceIn(Schema):
    time_zone: str = Field(  # type: ignore[assignment]  # omitted: unchanged; null: refused
        None, max_length=64, description="e.g. Europe/Berlin; omit to leave unchanged"
    )
    subscribed: bool = Unset


class PreferenceOut(Schema):
    time_zone: str
    subscribed: bool


class ScheduleIO(Schema):
    weekday: int = Field(0, ge=0, le=6, description="0 Monday … 6 Sunday")
    hour: int = Field(8, ge=0, le=23, description="In each person's time zone")
    enabled: bool = True


@router.get("/{slug}/share/digest", response=responses({200: DigestOut}, 404))
def digest_get(request: AppRequest, slug: str) -> dict[str, object]:
    """This week's digest as it stands, built for the caller."""
    membership = membership_for(request.user, slug)
    preference = PersonPreference.objects.filter(
        workspace_id=membership.workspace_id, user_id=membership.user_id
    ).first()
    digest = digest_build(membership, preference=preference)
    return {"week": digest.week, "empty": digest.is_empty, "sections": digest.sections}


@router.put("/{slug}/share/digest/preferences", response=responses({200: PreferenceOut}, 404, 422))
def preferences_put(request: AppRequest, slug: str, payload: PreferenceIn) -> dict[str, object]:
    """The caller's time zone and whether the digest comes by email."""
    membership = membership_for(request.user, slug)
    given = payload.dict(exclude_unset=True)
    preference = send.preference_update(
        membership=membership,
        time_zone=given.get("time_zone"),
        subscribed=given.get("subscribed"),
    )
    return {
        "time_zone": preference.time_zone,
        "subscribed": preference.digest_unsubscribed_at is None,
    }


@router.get("/{slug}/share/digest/schedule", response=responses({200: ScheduleIO}, 404))
def schedule_get(request: AppRequest, slug: str) -> DigestSchedule:
    membership = membership_for(request.user, slug)
    return DigestSchedule.objects.filter(
        workspace_id=membership.workspace_id
    ).first() or DigestSchedule(weekday=0, hour=8, enabled=True)


@router.put("/{slug}/share/digest/schedule", response=responses({200: ScheduleIO}, 403, 404, 422))
def schedule_put(request: AppRequest, slug: str, payload: ScheduleIO) -> DigestSchedule:
    """A leader sets the weekday and hour the digest goes out."""
    membership = membership_for(request.user, slug)
    return send.schedule_update(
        membership=membership, weekday=payload.weekday, hour=payload.hour, enabled=payload.enabled
    )
