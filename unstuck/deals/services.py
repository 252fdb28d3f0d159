"""Writes for deals: every stage move records its history here, and nowhere else."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from unstuck.core.errors import Conflict, NotAllowed, UnstuckError
from unstuck.core.models import Membership, Role, User
from unstuck.core.services import _clean
from unstuck.deals.models import (
    Activity,
    Contact,
    Deal,
    DealPartner,
    Stage,
    StageChange,
    StageKind,
    Stakeholder,
)


@transaction.atomic
def deal_move_to_stage(
    *,
    deal: Deal,
    stage: Stage,
    by: User | None,
    at: datetime | None = None,
    amount: Decimal | None = None,
    close_date: date | None = None,
    source: str = "manual",
) -> StageChange:
    """Move a deal to another stage of its pipeline and record the step in its history."""
    if stage.pipeline_id != deal.pipeline_id:
        raise UnstuckError(
            f"'{stage.name}' is not a stage of the {deal.pipeline} pipeline.", field="stage"
        )
    if stage.pk == deal.stage_id:
        raise Conflict(f"The deal is already in '{stage.name}'.", field="stage")
    at = at or timezone.now()
    if at < deal.stage_entered_at:
        raise UnstuckError(
            "A stage move cannot be dated before the deal entered its current stage "
            f"({deal.stage_entered_at:%Y-%m-%d %H:%M}).",
            field="at",
        )
    if amount is not None:
        if amount < 0:
            raise UnstuckError("An amount cannot be negative.", field="amount")
        deal.amount = amount
    if close_date is not None:
        deal.close_date = close_date
    change = StageChange(
        deal=deal,
        from_stage_id=deal.stage_id,
        to_stage=stage,
        changed_at=at,
        amount=deal.amount,
        close_date=deal.close_date,
        changed_by=by,
        source=source,
    )
    deal.stage = stage
    deal.status = stage.kind
    deal.stage_entered_at = at
    deal.closed_at = at if stage.kind != StageKind.OPEN else None
    _clean(deal)
    deal.save()
    change.save()
    return change


def _contact_for(
    *, deal: Deal, contact: Contact | None, name: str, title: str, email: str
) -> Contact:
    if contact is not None:
        if contact.workspace_id != deal.workspace_id:
            raise UnstuckError("That contact belongs to another workspace.", field="contact")
        return contact
    name = name.strip()
    if not name:
        raise UnstuckError("Name the stakeholder, or pick an existing contact.", field="name")
    new = Contact(
        workspace_id=deal.workspace_id,
        account_id=deal.account_id,
        name=name,
        title=title.strip(),
        email=email.strip().lower(),
    )
    _clean(new)
    new.save()
    return new


@transaction.atomic
def stakeholder_add(
    *,
    deal: Deal,
    buying_role: str,
    contact: Contact | None = None,
    name: str = "",
    title: str = "",
    email: str = "",
    influence: int = 2,
    stance: str = "unknown",
    notes: str = "",
) -> Stakeholder:
    contact = _contact_for(deal=deal, contact=contact, name=name, title=title, email=email)
    if Stakeholder.objects.filter(deal=deal, contact=contact).exists():
        raise Conflict(f"{contact.name} is already on this deal's committee.", field="contact")
    stakeholder = Stakeholder(
        deal=deal,
        contact=contact,
        buying_role=buying_role,
        influence=influence,
        stance=stance,
        notes=notes,
    )
    _clean(stakeholder)
    stakeholder.save()
    return stakeholder


@transaction.atomic
def stakeholder_update(
    *,
    stakeholder: Stakeholder,
    buying_role: str | None = None,
    influence: int | None = None,
    stance: str | None = None,
    notes: str | None = None,
    name: str | None = None,
    title: str | None = None,
    email: str | None = None,
) -> Stakeholder:
    if buying_role is not None:
        stakeholder.buying_role = buying_role
    if influence is not None:
        stakeholder.influence = influence
    if stance is not None:
        stakeholder.stance = stance
    if notes is not None:
        stakeholder.notes = notes
    contact = stakeholder.contact
    contact_changed = False
    for field, value in (("name", name), ("title", title), ("email", email)):
        if value is not None and getattr(contact, field) != value.strip():
            setattr(contact, field, value.strip())
            contact_changed = True
    if contact_changed:
        if not contact.name:
            raise UnstuckError("A stakeholder needs a name.", field="name")
        _clean(contact)
        contact.save()
    _clean(stakeholder)
    stakeholder.save()
    return stakeholder


def stakeholder_remove(*, stakeholder: Stakeholder) -> None:
    stakeholder.delete()


@transaction.atomic
def activity_log(
    *,
    deal: Deal,
    kind: str,
    summary: str,
    by: User | None,
    occurred_at: datetime | None = None,
    direction: str = "outbound",
    contact: Contact | None = None,
) -> Activity:
    activity = Activity(
        deal=deal,
        kind=kind,
        summary=summary.strip(),
        actor=by,
        occurred_at=occurred_at or timezone.now(),
        direction=direction,
        contact=contact,
    )
    _clean(activity)
    activity.save()
    if deal.last_activity_at is None or activity.occurred_at > deal.last_activity_at:
        Deal.objects.filter(pk=deal.pk).update(last_activity_at=activity.occurred_at)
        deal.last_activity_at = activity.occurred_at
    return activity


def deal_invite_partner(*, deal: Deal, partner: Membership, by: User) -> DealPartner:
    if partner.workspace_id != deal.workspace_id:
        raise UnstuckError("That person is not in this workspace.", field="partner")
    if partner.role != Role.PARTNER:
        raise NotAllowed("Only partners are invited to single deals; others see deals by role.")
    invite, _ = DealPartner.objects.get_or_create(
        deal=deal, user=partner.user, defaults={"invited_by": by}
    )
    return invite


def deal_uninvite_partner(*, deal: Deal, partner: User) -> None:
    DealPartner.objects.filter(deal=deal, user=partner).delete()
