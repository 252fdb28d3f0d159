"""The one place where every action Unstuck records is classed as innovation, coaching,
efficiency or admin, with the minutes it is taken to have cost (docs/insights.md prints this
table). Anything that reads "where the time goes" goes through `SOURCES`.

Each source is one kind of recorded row with who did it and when, costed in minutes:
- a *block* source costs a fixed number of minutes per row (an obstacle logged, a quiz answer);
- a *session* source (rows that belong to a co-creation session) is grouped into sittings: one
  person's contributions to one session, consecutive ones less than `SITTING_GAP_MINUTES`
  apart. A sitting costs the time from its first to its last contribution, or the sum of its
  rows' blocks if that is more (so a lone comment still counts), capped at
  `SITTING_CAP_MINUTES`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Category = Literal["innovation", "coaching", "efficiency", "admin"]
CATEGORIES: tuple[Category, ...] = ("innovation", "coaching", "efficiency", "admin")
CATEGORY_LABELS: dict[Category, str] = {
    "innovation": "Innovation",
    "coaching": "Coaching",
    "efficiency": "Efficiency / resource allocation",
    "admin": "Admin",
}
SITTING_GAP_MINUTES = 60  # a longer pause starts a new sitting
SITTING_CAP_MINUTES = 180  # one sitting, at most


@dataclass(frozen=True)
class Source:
    """Rows of `table` whose `actor` column names the person and `at` column the moment.

    `workspace` is the SQL expression of the row's workspace id given the joins in `joins`
    (the table is aliased `t`); `where` narrows the rows; `session` is the session id column
    for session sources (see the module docstring)."""

    key: str
    label: str
    category: Category
    minutes: int
    table: str
    actor: str
    at: str
    workspace: str
    joins: str = ""
    where: str = ""
    session: str = ""

    @property
    def is_span(self) -> bool:
        return bool(self.session)


_DEAL = "JOIN deals_deal d ON d.id = t.deal_id"
_SESSION = "JOIN cocreate_session s ON s.id = t.session_id"
_OPTION = (
    "JOIN cocreate_option o ON o.id = t.option_id JOIN cocreate_session s ON s.id = o.session_id"
)

SOURCES: tuple[Source, ...] = (
    # --- innovation: investigating, asking reps, co-creating ------------------------------
    Source("obstacle", "Obstacle logged on a deal", "innovation", 10,
           "investigate_obstacle", "t.created_by_id", "t.created_at", "d.workspace_id", _DEAL),
    Source("request", "Request to a rep", "innovation", 5,
           "investigate_investigationrequest", "t.asked_by_id", "t.created_at",
           "d.workspace_id", _DEAL),
    Source("request_answer", "Request answered", "innovation", 10,
           "investigate_investigationrequest", "t.assignee_id", "t.answered_at",
           "d.workspace_id", _DEAL, "t.answered_at IS NOT NULL"),
    Source("session_start", "Co-creation session started", "innovation", 10,
           "cocreate_session", "t.started_by_id", "t.created_at", "t.workspace_id",
           session="t.id"),
    Source("session_option", "Option written in a session", "innovation", 5,
           "cocreate_option", "t.author_id", "t.created_at", "s.workspace_id", _SESSION,
           session="t.session_id"),
    Source("session_comment", "Comment in a session", "innovation", 3,
           "cocreate_comment", "t.author_id", "t.created_at", "s.workspace_id", _SESSION,
           session="t.session_id"),
    Source("session_score", "Option scored", "innovation", 2,
           "cocreate_score", "t.user_id", "t.updated_at", "s.workspace_id", _OPTION,
           session="s.id"),
    Source("session_decide", "Session decided", "innovation", 10,
           "cocreate_session", "t.decided_by_id", "t.decided_at", "t.workspace_id",
           where="t.decided_at IS NOT NULL", session="t.id"),
    Source("approval_ask", "Approval asked beyond the guardrails", "innovation", 5,
           "cocreate_approvalrequest", "t.requested_by_id", "t.created_at", "t.workspace_id",
           "JOIN cocreate_option o ON o.id = t.option_id", session="o.session_id"),
    Source("play_applied", "Play from the playbook applied to a deal", "innovation", 5,
           "share_playapplication", "t.applied_by_id", "t.applied_at", "d.workspace_id", _DEAL),
    Source("bench_ask", "Help asked of the cross-functional bench on a deal", "innovation", 5,
           "share_benchask", "t.asked_by_id", "t.created_at", "t.workspace_id"),
    Source("suggestion", "Generated suggestion used or set aside", "innovation", 1,
           "cocreate_suggestionfeedback", "t.user_id", "t.created_at", "t.workspace_id",
           where="t.session_id IS NOT NULL", session="t.session_id"),
    # --- coaching: bias training, feedback --------------------------------------------------
    Source("lesson", "Bias lesson read", "coaching", 10,
           "thinking_lessoncompletion", "t.user_id", "t.completed_at", "t.workspace_id"),
    Source("quiz", "Bias quiz answer", "coaching", 1,
           "thinking_quizanswer", "t.user_id", "t.answered_at", "t.workspace_id"),
    Source("flag_dismiss", "Bias flag weighed and dismissed", "coaching", 2,
           "thinking_biasflag", "t.dismissed_by_id", "t.dismissed_at", "t.workspace_id",
           where="t.dismissed_at IS NOT NULL"),
    Source("question", "Perspective question written", "coaching", 5,
           "thinking_perspectivequestion", "t.created_by_id", "t.created_at", "t.workspace_id",
           where="NOT t.is_default"),
    Source("feedback", "Feedback logged (what's working, what isn't)", "coaching", 5,
           "investigate_feedbackentry", "t.author_id", "t.created_at", "d.workspace_id", _DEAL),
    # --- efficiency / resource allocation --------------------------------------------------
    Source("stage_move_other", "Stage moved on someone else's deal", "efficiency", 3,
           "deals_stagechange", "t.changed_by_id", "t.changed_at", "d.workspace_id", _DEAL,
           "(d.owner_id IS NULL OR d.owner_id <> t.changed_by_id)"),
    Source("import", "Import run", "efficiency", 15,
           "imports_importrun", "t.created_by_id", "t.created_at", "t.workspace_id"),
    Source("approval_decide", "Approval decided", "efficiency", 5,
           "cocreate_approvalrequest", "t.decided_by_id", "t.decided_at", "t.workspace_id",
           where="t.decided_at IS NOT NULL"),
    # --- admin -------------------------------------------------------------------------------
    Source("stage_move_own", "Stage moved on one's own deal", "admin", 2,
           "deals_stagechange", "t.changed_by_id", "t.changed_at", "d.workspace_id", _DEAL,
           "d.owner_id = t.changed_by_id"),
    Source("activity", "Activity or note logged", "admin", 5,
           "deals_activity", "t.actor_id", "t.occurred_at", "d.workspace_id", _DEAL),
    Source("partner_invite", "Partner invited to a deal", "admin", 2,
           "deals_dealpartner", "t.invited_by_id", "t.invited_at", "d.workspace_id", _DEAL),
)  # fmt: skip

# What the issue names but Unstuck does not record with an author and a time, so the
# estimate cannot see it; the weekly check-in is how a manager puts it back.
NOT_RECORDED: tuple[tuple[Category, str], ...] = (
    ("efficiency", "Pipeline reviews (reading the pipeline and the queue writes nothing)"),
    ("efficiency", "Deal qualification beyond a stage move"),
    ("efficiency", "Stall-threshold and guardrail changes (stored without who changed them)"),
    ("innovation", "Committee, decision-step and pain edits (stored without an author)"),
)


def source_rows() -> list[dict[str, object]]:
    """The table for docs and the page's "how this is estimated" section."""
    return [
        {
            "key": s.key,
            "label": s.label,
            "category": s.category,
            "rule": (
                f"part of a session sitting (at least {s.minutes} min)"
                if s.is_span
                else f"{s.minutes} min each"
            ),
        }
        for s in SOURCES
    ]
