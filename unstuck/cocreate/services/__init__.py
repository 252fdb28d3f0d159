"""Writes of co-creation, by part: settings and levers, sessions, approvals."""

from unstuck.cocreate.services.approvals import approval_decide, approval_request
from unstuck.cocreate.services.levers import (
    LEVER_FIELDS,
    lever_save,
    levers_ensure,
    settings_ensure,
    settings_for,
    settings_update,
)
from unstuck.cocreate.services.options import (
    option_score,
    session_add_option,
    session_comment,
    suggestion_accept,
    suggestion_ignore,
)
from unstuck.cocreate.services.sessions import (
    action_item_add,
    action_item_done,
    session_checklist,
    session_converge,
    session_decide,
    session_invite,
    session_record_outcome,
    session_start,
)

__all__ = [
    "LEVER_FIELDS",
    "action_item_add",
    "action_item_done",
    "approval_decide",
    "approval_request",
    "lever_save",
    "levers_ensure",
    "option_score",
    "session_add_option",
    "session_checklist",
    "session_comment",
    "session_converge",
    "session_decide",
    "session_invite",
    "session_record_outcome",
    "session_start",
    "settings_ensure",
    "settings_for",
    "settings_update",
    "suggestion_accept",
    "suggestion_ignore",
]
