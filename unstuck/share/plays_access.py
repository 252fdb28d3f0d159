"""Who sees and curates plays; built on core.access like every other app.

- Leaders and managers see every play of the workspace (drafts and retired ones too) and
  curate: managers write plays and edit those they own or verify; leaders edit any.
- Verifying (confirming a play is still right) is for its verifier or a leader.
- Reps read the verified playbook and apply plays to the deals they may edit.
- A partner sees only verified plays that were applied to a deal they are invited to.
Unseen plays answer 404; seen but not theirs to change, 403.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from unstuck.core.access import deals_visible_to
from unstuck.core.models import Membership, Role
from unstuck.share.models import Play, PlayStatus

CURATORS = (Role.LEADER, Role.MANAGER)


def plays_visible_to(membership: Membership) -> QuerySet[Play]:
    qs = Play.objects.filter(workspace_id=membership.workspace_id)
    role = membership.role
    if role in CURATORS:
        return qs
    if role == Role.REP:
        return qs.filter(status=PlayStatus.VERIFIED)
    if role == Role.PARTNER:
        given = deals_visible_to(membership).values("pk")
        return qs.filter(status=PlayStatus.VERIFIED, applications__deal__in=given).distinct()
    return qs.none()


def can_curate(membership: Membership) -> bool:
    return membership.role in CURATORS


def can_edit_play(membership: Membership, play: Play) -> bool:
    if play.workspace_id != membership.workspace_id:
        return False
    if membership.role == Role.LEADER:
        return True
    return membership.role == Role.MANAGER and membership.user_id in {
        play.owner_id,
        play.verifier_id,
    }


def can_verify_play(membership: Membership, play: Play) -> bool:
    if play.workspace_id != membership.workspace_id:
        return False
    if membership.role == Role.LEADER:
        return True
    return membership.role == Role.MANAGER and membership.user_id == play.verifier_id


def get_play_for(
    membership: Membership, pk: int, *, edit: bool = False, verify: bool = False
) -> Play:
    """Fetch a play and check access in one call: 404 if unseen, 403 if seen but the person
    may not edit (or verify) it."""
    try:
        play = plays_visible_to(membership).select_related("owner", "verifier").get(pk=pk)
    except (Play.DoesNotExist, ValueError, TypeError):
        raise Http404("No such play.") from None
    if edit and not can_edit_play(membership, play):
        raise PermissionDenied("Only the play's owner, its verifier or a leader edits it.")
    if verify and not can_verify_play(membership, play):
        raise PermissionDenied("Only the play's verifier or a leader verifies it.")
    return play
