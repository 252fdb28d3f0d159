"""Who sees and works in co-creation sessions; built on core.access like every other app.

- Anyone who may read the deal may read its sessions; a partner only the sessions they are
  invited to (not the deal's other sessions).
- Taking part (adding options, comments, scores): the deal's manager, its rep (owner), leaders,
  and people invited to the session.
- Leading (moving phases, deciding, inviting, requesting approval): the deal's manager only.
- Approving options beyond the guardrails: leaders.
Unseen sessions answer 404; seen but not allowed, 403.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404

from unstuck.cocreate.models import ApprovalRequest, Lever, Session
from unstuck.core.access import (
    can_lead_session,
    can_shape_workspace,
    can_take_part_in_session,
    deals_visible_to,
)
from unstuck.core.models import Membership, Role
from unstuck.deals.models import Deal


def sessions_visible_to(membership: Membership) -> QuerySet[Session]:
    qs = Session.objects.filter(workspace_id=membership.workspace_id)
    invited = Q(participants__user_id=membership.user_id)
    if membership.role == Role.PARTNER:
        return qs.filter(invited).distinct()
    return qs.filter(Q(deal__in=deals_visible_to(membership)) | invited).distinct()


def can_lead(membership: Membership, session: Session) -> bool:
    return can_lead_session(membership, session.deal)


def can_take_part(membership: Membership, session: Session) -> bool:
    return membership.workspace_id == session.workspace_id and can_take_part_in_session(
        membership,
        session.deal,
        invited=lambda: session.participants.filter(user_id=membership.user_id).exists(),
    )


def can_start_session(membership: Membership, deal: Deal) -> bool:
    return can_lead_session(membership, deal)


def get_session_for(
    membership: Membership, pk: int, *, take_part: bool = False, lead: bool = False
) -> Session:
    """Fetch a session and check access in one call: 404 if unseen, 403 if seen but the
    person may not take part (or, with lead, may not lead it)."""
    try:
        session = (
            sessions_visible_to(membership)
            .select_related("deal", "deal__account", "deal__owner", "deal__stage", "started_by")
            .get(pk=pk)
        )
    except (Session.DoesNotExist, ValueError, TypeError):
        raise Http404("No such session.") from None
    if lead and not can_lead(membership, session):
        raise PermissionDenied("Only the deal's manager leads and decides in this session.")
    if take_part and not can_take_part(membership, session):
        raise PermissionDenied("You can read this session but not take part in it.")
    return session


def get_approval_for(membership: Membership, pk: int, *, decide: bool = False) -> ApprovalRequest:
    """Approvals are seen with their session; deciding them is for leaders."""
    try:
        approval = ApprovalRequest.objects.select_related("option__session__deal").get(
            pk=pk, workspace_id=membership.workspace_id
        )
    except (ApprovalRequest.DoesNotExist, ValueError, TypeError):
        raise Http404("No such approval request.") from None
    if not can_shape_workspace(membership):
        # Non-leaders see it only through a session they may see.
        if not sessions_visible_to(membership).filter(pk=approval.option.session_id).exists():
            raise Http404("No such approval request.")
        if decide:
            raise PermissionDenied("Only leaders approve options beyond the guardrails.")
    return approval


def get_lever_for(membership: Membership, pk: int, *, write: bool = False) -> Lever:
    try:
        lever = Lever.objects.get(pk=pk, workspace_id=membership.workspace_id)
    except (Lever.DoesNotExist, ValueError, TypeError):
        raise Http404("No such lever.") from None
    if write and not can_shape_workspace(membership):
        raise PermissionDenied("Only leaders edit the levers.")
    return lever
