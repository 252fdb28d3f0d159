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

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import reduce

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404

from unstuck.core.models import Membership, Role, Team, User
from unstuck.deals.models import Deal, DealPartner, DealQuerySet


def membership_for(user: User, workspace_slug: str) -> Membership:
    """The user's membership of the workspace, or 404 for anyone who is not a member."""
    if not user.is_authenticated:
        raise Http404("No such workspace.")
    try:
        membership = Membership.objects.select_related("workspace", "team").get(
            user_id=user.pk, workspace__slug=workspace_slug
        )
    except Membership.DoesNotExist:
        raise Http404("No such workspace.") from None
    # The user the request already read (the session's or the token's): not joined again.
    membership.user = user
    return membership


def require_role(membership: Membership, *roles: str) -> None:
    if membership.role not in roles:
        raise PermissionDenied("Your role does not allow this.")


def managed_teams(membership: Membership) -> list[Team]:
    """The teams a member manages, by name, read once per membership object, that is once
    per request (the decorator and the API read the membership for each): every access check
    of a manager's page asks, seven times on a deal page, and the pipeline's team filter
    offers them."""
    teams: tuple[Team, ...] | None = membership.__dict__.get("_managed_teams")
    if teams is None:
        # Written out (raw still makes Teams): the ORM's filter took longer to build than the
        # statement takes to run, on every page a manager opens (issue 16.2).
        columns = ", ".join(f.column for f in Team._meta.concrete_fields)
        teams = membership.__dict__["_managed_teams"] = tuple(
            Team.objects.raw(
                f"SELECT {columns} FROM core_team WHERE workspace_id = %s AND manager_id = %s "
                "ORDER BY name, id",
                [membership.workspace_id, membership.user_id],
            )
        )
    return list(teams)


def managed_team_ids(membership: Membership) -> list[int]:
    """The ids of `managed_teams`, in id order."""
    return sorted(team.pk for team in managed_teams(membership))


@dataclass(frozen=True)
class DealScope:
    """Which deals of a workspace one rule covers, as data: the read filter (a Q), the edit
    filter and the check on one deal are all derived from it, so they cannot disagree."""

    everything: bool = False
    owner_id: int | None = None
    team_ids: frozenset[int] = frozenset()
    invited_user_id: int | None = None

    def q(self) -> Q | None:
        """The condition on Deal rows; None is the whole workspace."""
        if self.everything:
            return None
        parts = []
        if self.owner_id is not None:
            parts.append(Q(owner_id=self.owner_id))
        if self.team_ids:
            parts.append(Q(team_id__in=sorted(self.team_ids)))
        if self.invited_user_id is not None:
            parts.append(Q(partner_invites__user_id=self.invited_user_id))
        return reduce(operator.or_, parts) if parts else Q(pk__in=[])

    def sql(self, table: str) -> tuple[str, list[int]] | None:
        """The condition of q() in SQL on `table`'s columns (`owner_id`, `team_id`, and `id`
        for an invited partner), for a statement written out; None is the whole workspace.
        The queue's page and its tallies are read this way (issue 16)."""
        if self.everything:
            return None
        parts, params = [], []
        if self.owner_id is not None:
            parts.append(f"{table}.owner_id = %s")
            params.append(self.owner_id)
        if self.team_ids:
            teams = sorted(self.team_ids)
            parts.append(f"{table}.team_id IN ({', '.join(['%s'] * len(teams))})")
            params.extend(teams)
        if self.invited_user_id is not None:
            invites = DealPartner._meta.db_table
            parts.append(f"{table}.id IN (SELECT deal_id FROM {invites} WHERE user_id = %s)")
            params.append(self.invited_user_id)
        return (f"({' OR '.join(parts)})" if parts else "1 = 0"), params

    def covers(self, deal: Deal) -> bool:
        if self.everything:
            return True
        if self.owner_id is not None and deal.owner_id == self.owner_id:
            return True
        if deal.team_id is not None and deal.team_id in self.team_ids:
            return True
        if self.invited_user_id is not None:
            return deal.partner_invites.filter(user_id=self.invited_user_id).exists()
        return False


def deal_scope(
    membership: Membership, *, write: bool, managed: Sequence[int] | None = None
) -> DealScope:
    """Each role's rule on deals, stated once (the module docstring says it in words).
    `managed`: a manager's teams when the caller has them already (no query)."""
    me = membership.user_id
    if membership.role == Role.LEADER:
        return DealScope(everything=True)
    if membership.role == Role.MANAGER:
        teams = managed_team_ids(membership) if managed is None else managed
        return DealScope(owner_id=me, team_ids=frozenset(teams))
    if membership.role == Role.REP:
        team = membership.team_id
        if write or team is None or not membership.workspace.reps_see_team_deals:
            return DealScope(owner_id=me)
        return DealScope(owner_id=me, team_ids=frozenset({team}))
    if membership.role == Role.PARTNER and not write:
        return DealScope(invited_user_id=me)
    return DealScope()


def _deals(membership: Membership, *, write: bool, scope: DealScope | None = None) -> DealQuerySet:
    qs = Deal.objects.filter(workspace_id=membership.workspace_id)
    condition = (deal_scope(membership, write=write) if scope is None else scope).q()
    return qs if condition is None else qs.filter(condition)


def deals_visible_to(membership: Membership, *, scope: DealScope | None = None) -> DealQuerySet:
    """scope: the member's read rule (deal_scope(..., write=False)) when the caller has it
    already (a manager's teams are a query)."""
    return _deals(membership, write=False, scope=scope)


def deals_editable_by(membership: Membership) -> DealQuerySet:
    return _deals(membership, write=True)


def can_see_deal(membership: Membership, deal: Deal) -> bool:
    return deal.workspace_id == membership.workspace_id and deal_scope(
        membership, write=False
    ).covers(deal)


def can_edit_deal(membership: Membership, deal: Deal) -> bool:
    return deal.workspace_id == membership.workspace_id and deal_scope(
        membership, write=True
    ).covers(deal)


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


# --- the rules of what hangs off a deal, each stated once on top of the deal rules --------
# The apps' own access modules fetch-and-check with these; their services ask them too.


def can_lead_session(membership: Membership, deal: Deal) -> bool:
    """Starting, leading and deciding a co-creation session: the deal's manager."""
    return membership.role == Role.MANAGER and can_edit_deal(membership, deal)


def can_take_part_in_session(
    membership: Membership, deal: Deal, *, invited: Callable[[], bool]
) -> bool:
    """Adding options, comments and scores: leaders, the deal's manager and rep, and whoever
    the session invited (asked last: it is a query)."""
    if membership.workspace_id != deal.workspace_id:
        return False
    if membership.role == Role.LEADER or can_lead_session(membership, deal):
        return True
    return deal.owner_id == membership.user_id or invited()


def can_dismiss_flag(membership: Membership, author_id: int | None) -> bool:
    """Setting a bias note aside: its writer, or a manager or leader who sees it."""
    return author_id == membership.user_id or membership.role in {Role.LEADER, Role.MANAGER}


def can_shape_workspace(membership: Membership) -> bool:
    """The workspace's shared catalogue and rules (levers, guardrails, approvals beyond them,
    the question bank, stall thresholds): leaders."""
    return membership.role == Role.LEADER
