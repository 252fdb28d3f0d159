"""Pages of co-creation."""

from unstuck.cocreate.views.actions import (
    action_add,
    action_done,
    approval_request,
    comment_add,
    option_add,
    option_score,
    session_checklist,
    session_converge,
    session_decide,
    session_invite,
    session_outcome,
    suggestion_accept,
    suggestion_ignore,
)
from unstuck.cocreate.views.admin import (
    approval_decide,
    approvals,
    guardrails,
    lever_edit,
    levers,
)
from unstuck.cocreate.views.sessions import (
    session_detail,
    session_list,
    session_live,
    session_start,
    session_suggestions,
)

__all__ = [
    "action_add",
    "action_done",
    "approval_decide",
    "approval_request",
    "approvals",
    "comment_add",
    "guardrails",
    "lever_edit",
    "levers",
    "option_add",
    "option_score",
    "session_checklist",
    "session_converge",
    "session_decide",
    "session_detail",
    "session_invite",
    "session_list",
    "session_live",
    "session_outcome",
    "session_start",
    "session_suggestions",
    "suggestion_accept",
    "suggestion_ignore",
]
