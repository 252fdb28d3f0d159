"""Who may see and act on thinking records; built on core.access like every other app."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404

from unstuck.core.access import can_dismiss_flag
from unstuck.core.models import Membership
from unstuck.thinking.models import BiasFlag, PerspectiveQuestion
from unstuck.thinking.selectors import flags_visible_to


def get_flag_for(membership: Membership, pk: int, *, write: bool = False) -> BiasFlag:
    """A flag one may see (404 otherwise); with write, one may also dismiss it (403 otherwise):
    its author, or a manager or leader who sees it."""
    try:
        flag = flags_visible_to(membership).select_related("deal", "author").get(pk=pk)
    except (BiasFlag.DoesNotExist, ValueError, TypeError):
        raise Http404("No such flag.") from None
    if write and not can_dismiss_flag(membership, flag.author_id):
        raise PermissionDenied("Only the writer, their manager or a leader can dismiss this.")
    return flag


def get_question_for(membership: Membership, pk: int) -> PerspectiveQuestion:
    try:
        return PerspectiveQuestion.objects.get(pk=pk, workspace_id=membership.workspace_id)
    except (PerspectiveQuestion.DoesNotExist, ValueError, TypeError):
        raise Http404("No such question.") from None
