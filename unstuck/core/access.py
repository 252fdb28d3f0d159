"""Who sees and changes what. Every view, endpoint, export and task asks this module.

- A leader sees and edits every deal in the workspace.
- A manager sees and edits the deals of the teams they manage, and their own.
- A rep edits their own deals and, where the workspace allows, reads their teammates'.
- A partner reads only the deals they are invited to.
- Nobody sees anything in a workspace they are not a member of.

Objects outside what one may see answer 404 (their existence is not revealed); objects one
may see but not change answer 403.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404

from unstuck.core.models import Membership, Role, Team, User
from unstuck.deals.models import Deal, DealQuerySet


def membership_for(user: User, workspace_slug: str) -> Membership:
    """The user's membership of the workspace, or 404 for anyone who is not a member."""
    if not user.is_authenticated:
        raise Http404("No such workspace.")
    try:
        return Membership.objects.select_related("workspace", "team", "user").get(
            user=user, workspace__slug=workspace_slug
        )
    except Membership.DoesNotExist:
        raise Http404("No such workspace.") from None


def require_role(membership: Membership, *roles: str) -> None:
    if membership.role not in roles:
        raise PermissionDenied("Your role does not allow this.")


def managed_team_ids(membership: Membership) -> list[int]:
    return list(
        Team.objects.filter(workspace_id=membership.workspace_id, manager_id=membership.user_id)
        .values_list("pk", flat=True)
        .order_by("pk")
    )


def _visible_filter(membership: Membership) -> Q | None:
    """The condition on Deal rows that this member may read; None means the whole workspace."""
    role = membership.role
    if role == Role.LEADER:
        return None
    if role == Role.MANAGER:
        return Q(team_id__in=managed_team_ids(membership)) | Q(owner_id=membership.user_id)
    if role == Role.REP:
        own = Q(owner_id=membership.user_id)
        if membership.workspace.reps_see_team_deals and membership.team_id:
            return own | Q(team_id=membership.team_id)
        return own
    if role == Role.PARTNER:
        return Q(partner_invites__user_id=membership.user_id)
    return Q(pk__in=[])


def deals_visible_to(membership: Membership) -> DealQuerySet:
    qs = Deal.objects.filter(workspace_id=membership.workspace_id)
    condition = _visible_filter(membership)
    return qs if condition is None else qs.filter(condition)


def deals_editable_by(membership: Membership) -> DealQuerySet:
    qs = Deal.objects.filter(workspace_id=membership.workspace_id)
    role = membership.role
    if role == Role.LEADER:
        return qs
    if role == Role.MANAGER:
        return qs.filter(
            Q(team_id__in=managed_team_ids(membership)) | Q(owner_id=membership.user_id)
        )
    if role == Role.REP:
        return qs.filter(owner_id=membership.user_id)
    return qs.none()


def can_edit_deal(membership: Membership, deal: Deal) -> bool:
    if deal.workspace_id != membership.workspace_id:
        return False
    role = membership.role
    if role == Role.LEADER:
        return True
    if role == Role.MANAGER:
        return deal.owner_id == membership.user_id or (
            deal.team_id is not None and deal.team_id in managed_team_ids(membership)
        )
    if role == Role.REP:
        return deal.owner_id == membership.user_id
    return False


def get_deal_for(membership: Membership, pk: int, *, write: bool = False) -> Deal:
    """Fetch a deal and check access in one call: 404 if unseen, 403 if seen but read-only."""
    try:
        deal = deals_visible_to(membership).with_related().get(pk=pk)
    except (Deal.DoesNotExist, ValueError, TypeError):
        raise Http404("No such deal.") from None
    if write and not can_edit_deal(membership, deal):
        raise PermissionDenied("You can read this deal but not change it.")
    return deal


def can_invite_partners(membership: Membership, deal: Deal) -> bool:
    return membership.role in {Role.LEADER, Role.MANAGER} and can_edit_deal(membership, deal)
