"""Writes for deals: every stage move records its history here, and nowhere else."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from unstuck.core.access import can_edit_deal, can_invite_partners
from unstuck.core.errors import Conflict, NotAllowed, UnstuckError
from unstuck.core.models import Membership, Role, User
from unstuck.core.services import _clean, locked, save_fields
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


def require_deal_edit(membership: Membership | None, deal: Deal) -> None:
    """The acting member must be allowed to change the deal; None is the system itself (the
    demo generator, an import), which acts on the workspace's behalf."""
    if membership is not None and not can_edit_deal(membership, deal):
        raise NotAllowed("You can read this deal but not change it.")


@transaction.atomic
def deal_move_to_stage(
    *,
    deal: Deal,
    stage: Stage,
    by: Membership | None,
    at: datetime | None = None,
    amount: Decimal | None = None,
    close_date: date | None = None,
    source: str = "manual",
) -> StageChange:
    """Move a deal to another stage of its pipeline and record the step in its history.

    The deal's row is locked for the move: two people moving it at once are served one after
    the other, so the second move starts from the stage the first one reached (the history
    stays one chain) and neither erases the amount or close date the other set. Only the
    fields a move changes are saved.
    """
    require_deal_edit(by, deal)
    row = locked(deal)
    if stage.pipeline_id != row.pipeline_id:
        raise UnstuckError(
            f"'{stage.name}' is not a stage of the {deal.pipeline} pipeline.", field="stage"
        )
    if stage.pk == row.stage_id:
        raise Conflict(f"The deal is already in '{stage.name}'.", field="stage")
    at = at or timezone.now()
    if at < row.stage_entered_at:
        raise UnstuckError(
            "A stage move cannot be dated before the deal entered its current stage "
            f"({row.stage_entered_at:%Y-%m-%d %H:%M}).",
            field="at",
        )
    changed = ["stage", "status", "stage_entered_at", "closed_at"]
    if amount is not None:
        if amount < 0:
            raise UnstuckError("An amount cannot be negative.", field="amount")
        row.amount = amount
        changed.append("amount")
    if close_date is not None:
        row.close_date = close_date
        changed.append("close_date")
    change = StageChange(
        deal=row,
        from_stage_id=row.stage_id,
        to_stage=stage,
        changed_at=at,
        amount=row.amount,
        close_date=row.close_date,
        changed_by=by.user if by is not None else None,
        source=source,
    )
    status_before = row.status
    row.stage = stage
    row.status = stage.kind
    row.stage_entered_at = at
    row.closed_at = at if stage.kind != StageKind.OPEN else None
    _clean(row)
    save_fields(row, changed)
    change.save()
    if row.status != status_before:
        # Into or out of the open stages: the queue's stored summary counts open deals.
        from unstuck.investigate.tally import tally_recount_group

        tally_recount_group(
            workspace_id=row.workspace_id, owner_id=row.owner_id, team_id=row.team_id
        )
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
    membership: Membership | None,
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
    require_deal_edit(membership, deal)
    contact = _contact_for(deal=deal, contact=contact, name=name, title=title, email=email)
    taken = Conflict(f"{contact.name} is already on this deal's committee.", field="contact")
    if Stakeholder.objects.filter(deal=deal, contact=contact).exists():
        raise taken
    stakeholder = Stakeholder(
        deal=deal,
        contact=contact,
        buying_role=buying_role,
        influence=influence,
        stance=stance,
        notes=notes,
    )
    _clean(stakeholder)
    try:
        # Two people adding the same contact at once: the unique constraint decides.
        with transaction.atomic():
            stakeholder.save()
    except IntegrityError:
        raise taken from None
    return stakeholder


STAKEHOLDER_FIELDS = ("buying_role", "influence", "stance", "notes")
CONTACT_FIELDS = ("name", "title", "email")


def stakeholder_version(stakeholder: Stakeholder) -> str:
    """What a form remembers of the stakeholder it showed, to tell later if it changed."""
    # Its contact has no stamp of its own: a change of name, title or email stamps the
    # stakeholder too.
    return stakeholder.updated_at.isoformat() if stakeholder.updated_at else ""


@transaction.atomic
def stakeholder_update(
    *,
    membership: Membership | None,
    stakeholder: Stakeholder,
    version: str | None = None,
    buying_role: str | None = None,
    influence: int | None = None,
    stance: str | None = None,
    notes: str | None = None,
    name: str | None = None,
    title: str | None = None,
    email: str | None = None,
) -> Stakeholder:
    """Change what is given (None: leave as is). The rows are locked and only changed fields
    saved, so concurrent edits of different fields both stay. A form that shows every field
    passes the version it was filled from: if someone saved since, nothing is saved and the
    Conflict names what they changed."""
    require_deal_edit(membership, stakeholder.deal)
    # What the caller's copy says, to name what someone else changed since it was read.
    before = {f: getattr(stakeholder, f) for f in STAKEHOLDER_FIELDS}
    before |= {f: getattr(stakeholder.contact, f) for f in CONTACT_FIELDS}
    row = locked(stakeholder)
    contact = locked(row.contact)
    given = {
        "buying_role": buying_role,
        "influence": influence,
        "stance": stance,
        "notes": notes,
        "name": None if name is None else name.strip(),
        "title": None if title is None else title.strip(),
        "email": None if email is None else email.strip(),
    }
    if version is not None and version != stakeholder_version(row):
        now = {f: getattr(row, f) for f in STAKEHOLDER_FIELDS}
        now |= {f: getattr(contact, f) for f in CONTACT_FIELDS}
        theirs = [f for f in now if now[f] != before[f]]
        what = ", ".join(f.replace("_", " ") for f in theirs) or "it"
        raise Conflict(
            f"Someone changed this stakeholder ({what}) since you opened it; "
            "your edit was not saved. Reload to see their change, then edit again."
        )
    changed = [
        f for f in STAKEHOLDER_FIELDS if given[f] is not None and getattr(row, f) != given[f]
    ]
    contact_changed = [
        f for f in CONTACT_FIELDS if given[f] is not None and getattr(contact, f) != given[f]
    ]
    for f in changed:
        setattr(row, f, given[f])
    for f in contact_changed:
        setattr(contact, f, given[f])
    if contact_changed:
        if not contact.name:
            raise UnstuckError("A stakeholder needs a name.", field="name")
        _clean(contact)
        save_fields(contact, contact_changed)
    _clean(row)
    if changed or contact_changed:
        save_fields(row, changed)
    return row


def stakeholder_remove(*, membership: Membership | None, stakeholder: Stakeholder) -> None:
    require_deal_edit(membership, stakeholder.deal)
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
    # One conditional UPDATE: concurrent activities leave the latest date, whatever their order.
    Deal.objects.filter(pk=deal.pk).filter(
        Q(last_activity_at__isnull=True) | Q(last_activity_at__lt=activity.occurred_at)
    ).update(last_activity_at=activity.occurred_at)
    if deal.last_activity_at is None or activity.occurred_at > deal.last_activity_at:
        deal.last_activity_at = activity.occurred_at
    return activity


def deal_invite_partner(
    *, deal: Deal, partner: Membership, by: Membership | None, inviter: User | None = None
) -> DealPartner:
    """Let a partner read one deal: the deal's manager or a leader invites. by=None is the
    system acting on a rule of its own (a bench ask, checked there), recorded as `inviter`."""
    if by is not None and not can_invite_partners(by, deal):
        raise NotAllowed("Only the deal's manager or a leader invites partners to it.")
    if partner.workspace_id != deal.workspace_id:
        raise UnstuckError("That person is not in this workspace.", field="partner")
    if partner.role != Role.PARTNER:
        raise UnstuckError(
            "Only partners are invited to single deals; others see deals by role.", field="partner"
        )
    invite, _ = DealPartner.objects.get_or_create(
        deal=deal, user=partner.user, defaults={"invited_by": by.user if by else inviter}
    )
    return invite


def deal_uninvite_partner(*, deal: Deal, partner: User, by: Membership | None) -> None:
    if by is not None and not can_invite_partners(by, deal):
        raise NotAllowed("Only the deal's manager or a leader removes partners from it.")
    DealPartner.objects.filter(deal=deal, user=partner).delete()
