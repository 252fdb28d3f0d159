"""Approvals beyond the guardrails: a manager asks, a leader answers with a reason; the
rows are the audit trail."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from unstuck.cocreate import guardrails
from unstuck.cocreate.models import (
    ApprovalRequest,
    ApprovalStatus,
    Option,
)
from unstuck.cocreate.services._common import _require_lead
from unstuck.cocreate.services.levers import settings_for
from unstuck.core.access import can_shape_workspace
from unstuck.core.errors import Conflict, NotAllowed, UnstuckError
from unstuck.core.models import Membership
from unstuck.core.services import _clean, locked, save_fields


def approval_request(*, membership: Membership, option: Option, note: str = "") -> ApprovalRequest:
    """The manager asks a leader to allow an option beyond the guardrails."""
    session = option.session
    _require_lead(membership, session)
    rules = settings_for(session.deal.workspace)
    found = guardrails.option_breaches(option, rules)
    if not found:
        raise Conflict("This option is within the guardrails; no approval is needed.")
    terms = guardrails.option_terms(option)
    if option.approvals.filter(status=ApprovalStatus.PENDING, terms=terms).exists():
        raise Conflict("An approval for these terms is already waiting for a leader.")
    request = ApprovalRequest(
        option=option,
        workspace_id=session.workspace_id,
        requested_by=membership.user,
        breaches=found,
        terms=terms,
        note=note.strip(),
    )
    _clean(request)
    request.save()
    return request


@transaction.atomic
def approval_decide(
    *, membership: Membership, approval: ApprovalRequest, approve: bool, reason: str
) -> ApprovalRequest:
    """A leader approves or declines, with a reason that stays in the record. Locked: of two
    leaders deciding at once, the second is told it was already decided."""
    if not can_shape_workspace(membership) or membership.workspace_id != approval.workspace_id:
        raise NotAllowed("Only leaders approve options beyond the guardrails.")
    approval = locked(approval)
    if approval.status != ApprovalStatus.PENDING:
        raise Conflict(f"This request was already {approval.get_status_display().lower()}.")
    if not reason.strip():
        raise UnstuckError("Give the manager a reason.", field="reason")
    approval.status = ApprovalStatus.APPROVED if approve else ApprovalStatus.DECLINED
    approval.reason = reason.strip()
    approval.decided_by = membership.user
    approval.decided_at = timezone.now()
    _clean(approval)
    save_fields(approval, ["status", "reason", "decided_by", "decided_at"])
    return approval
