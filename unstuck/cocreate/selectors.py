"""Reads of co-creation: a session's record as one person sees it (options with their scores,
terms and guardrail state, comments with the held ones, flags and questions), the
suggestions still open in a session, a deal's sessions for its history, and the outcome a
session's later stage moves propose."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Avg, Count, F, Prefetch
from django.utils import timezone

from unstuck.cocreate import guardrails
from unstuck.cocreate.access import can_lead, can_take_part
from unstuck.cocreate.generator import Suggestion, suggest_for
from unstuck.cocreate.models import (
    ApprovalRequest,
    ApprovalStatus,
    Comment,
    Option,
    Outcome,
    Phase,
    Score,
    Session,
    SuggestionAction,
    SuggestionFeedback,
)
from unstuck.cocreate.services import settings_for
from unstuck.core.models import Membership, Role
from unstuck.deals.models import StageChange, StageKind
from unstuck.thinking.models import BiasFlag, FlagStatus
from unstuck.thinking.question_bank import Situation
from unstuck.thinking.selectors import questions_for

DIMENSIONS = ("value", "risk", "feasibility", "payoff")


@dataclass
class OptionRow:
    option: Option
    breaches: list[str]
    approved: bool
    pending: bool
    approvals: list[ApprovalRequest]
    averages: dict[str, float | None]
    scorers: int
    mine: Score | None
    comments: list[Comment] = field(default_factory=list)

    @property
    def total(self) -> float:
        values = [v for v in self.averages.values() if v is not None]
        return round(sum(values), 1) if values else 0.0

    @property
    def mine_values(self) -> dict[str, int]:
        return {d: getattr(self.mine, d) if self.mine else 3 for d in DIMENSIONS}

    @property
    def blocked(self) -> bool:
        return bool(self.breaches) and not self.approved


@dataclass
class SessionRecord:
    session: Session
    rows: list[OptionRow]
    general_comments: list[Comment]
    held_count: int
    min_options: int
    participants: list[Any]
    flags: list[BiasFlag]
    questions: list[Any]
    may_lead: bool
    may_take_part: bool
    action_items: list[Any]
    unscored: int

    @property
    def options_needed(self) -> int:
        return max(0, self.min_options - len(self.rows))


def session_record(membership: Membership, session: Session) -> SessionRecord:
    """The session as this person sees it, in a fixed number of queries."""
    rules = settings_for(session.deal.workspace)
    options = list(
        session.options.select_related("author", "lever").prefetch_related(
            Prefetch("approvals", queryset=ApprovalRequest.objects.select_related("decided_by"))
        )
    )
    averages = {
        r["option_id"]: r
        for r in Score.objects.filter(option__session=session)
        .values("option_id")
        .annotate(
            n=Count("pk"),
            **{f"avg_{d}": Avg(d) for d in DIMENSIONS},
        )
    }
    mine = {
        s.option_id: s for s in Score.objects.filter(option__session=session, user=membership.user)
    }
    comments = list(session.comments.select_related("author"))
    by_option: dict[int | None, list[Comment]] = {}
    for c in comments:
        by_option.setdefault(c.option_id, []).append(c)
    rows = []
    for o in options:
        approvals = list(o.approvals.all())
        breaches = guardrails.option_breaches(o, rules)
        terms = guardrails.option_terms(o)
        agg = averages.get(o.pk, {})
        rows.append(
            OptionRow(
                option=o,
                breaches=breaches,
                approved=bool(breaches) and guardrails.approval_covers(o, approvals),
                pending=any(
                    a.status == ApprovalStatus.PENDING and a.terms == terms for a in approvals
                ),
                approvals=approvals,
                averages={
                    d: round(agg[f"avg_{d}"], 1) if agg.get(f"avg_{d}") is not None else None
                    for d in DIMENSIONS
                },
                scorers=agg.get("n", 0),
                mine=mine.get(o.pk),
                comments=by_option.get(o.pk, []),
            )
        )
    if session.phase != Phase.DIVERGE:
        rows.sort(key=lambda r: (-r.option.is_chosen, -r.total, r.option.pk))
    situation = Situation.EVALUATING if session.phase != Phase.DIVERGE else Situation.REJECTING
    flags = list(
        BiasFlag.objects.filter(
            deal_id=session.deal_id,
            context__startswith="session_",
            created_at__gte=session.created_at,
            status=FlagStatus.OPEN,
        ).select_related("author")[:8]
    )
    participants = [session.deal.owner] if session.deal.owner else []
    participants += [p.user for p in session.participants.select_related("user")]
    return SessionRecord(
        session=session,
        rows=rows,
        general_comments=by_option.get(None, []),
        held_count=sum(1 for c in comments if c.held and c.released_at is None),
        min_options=rules.min_options,
        participants=participants,
        flags=flags,
        questions=questions_for(workspace=session.deal.workspace, situation=situation, limit=4),
        may_lead=can_lead(membership, session),
        may_take_part=can_take_part(membership, session),
        action_items=list(session.action_items.select_related("owner")),
        unscored=sum(1 for r in rows if r.mine is None),
    )


def open_suggestions(session: Session) -> list[Suggestion]:
    """The generator's suggestions not yet added or ignored in this session."""
    used = set(session.options.exclude(suggestion_key="").values_list("suggestion_key", flat=True))
    used |= set(
        SuggestionFeedback.objects.filter(
            session=session, action=SuggestionAction.IGNORED
        ).values_list("key", flat=True)
    )
    # Ranked without them, so the range is judged over what is still on offer.
    return suggest_for(session.deal, outcome=session.ideal_outcome, exclude=used)


@dataclass(frozen=True, slots=True)
class MoveRow:
    """A stage move since a session's decision: the stage it went to, and when."""

    kind: str
    name: str
    changed_at: datetime


@dataclass(frozen=True, slots=True)
class SessionRow:
    """A session as the deal page's co-creation history shows it."""

    pk: int
    created_at: datetime
    phase_label: str
    outcome: str
    outcome_label: str
    ideal_outcome: str
    n_options: int
    chosen: list[str]  # the chosen options' titles, oldest first
    decided_by: str  # display name, "" for nobody
    decided_at: datetime | None
    outcome_note: str
    moves_since: list[MoveRow]


def deal_sessions(deal_id: int) -> list[SessionRow]:
    """A deal's sessions, newest first, with what was chosen and how the deal moved after each
    decision (its stage changes since): the deal page's history, closing the loop.

    Written SQL, one statement for the sessions and one each for the chosen options and the
    moves when there are any: the ORM's annotated, prefetched read took about 1.5 ms of CPU
    to build, compile and instantiate (issue 16)."""

    from unstuck.core.models import User
    from unstuck.deals.models import Stage
    from unstuck.investigate.sql import aware, fetch_dicts, table, timestamp_param

    session, option = table(Session), table(Option)
    rows = fetch_dicts(
        "SELECT s.id, s.created_at, s.phase, s.outcome, s.ideal_outcome, s.decided_at, "
        f"s.outcome_note, u.name, u.email, (SELECT COUNT(*) FROM {option} o "
        f"WHERE o.session_id = s.id) AS n_options FROM {session} s "
        f"LEFT JOIN {table(User)} u ON u.id = s.decided_by_id "
        "WHERE s.deal_id = %s ORDER BY s.created_at DESC, s.id DESC",
        [deal_id],
    )
    if not rows:
        return []
    ids = [r["id"] for r in rows]
    chosen: dict[int, list[str]] = {pk: [] for pk in ids}
    for o in fetch_dicts(
        f"SELECT session_id, title FROM {option} WHERE is_chosen = %s AND session_id IN "
        f"({', '.join(['%s'] * len(ids))}) ORDER BY created_at, id",
        [True, *ids],
    ):
        chosen[o["session_id"]].append(o["title"])
    decided = [aware(r["decided_at"]) for r in rows if r["decided_at"] is not None]
    moves = (
        [
            MoveRow(m["kind"], m["name"], aware(m["changed_at"]))
            for m in fetch_dicts(
                f"SELECT c.changed_at, t.kind, t.name FROM {table(StageChange)} c "
                f"JOIN {table(Stage)} t ON t.id = c.to_stage_id "
                "WHERE c.deal_id = %s AND c.changed_at >= %s "
                "AND (c.from_stage_id IS NULL OR c.from_stage_id <> c.to_stage_id) "
                "ORDER BY c.changed_at, c.id",
                [deal_id, timestamp_param(min(decided))],
            )
        ]
        if decided
        else []
    )
    phases, outcomes = dict(Phase.choices), dict(Outcome.choices)
    out = []
    for r in rows:
        after = aware(r["decided_at"]) if r["decided_at"] is not None else None
        out.append(
            SessionRow(
                pk=r["id"],
                created_at=aware(r["created_at"]),
                phase_label=phases.get(r["phase"], r["phase"]),
                outcome=r["outcome"],
                outcome_label=outcomes.get(r["outcome"], r["outcome"]),
                ideal_outcome=r["ideal_outcome"],
                n_options=r["n_options"],
                chosen=chosen[r["id"]],
                decided_by="" if r["email"] is None else User.name_shown(r["name"], r["email"]),
                decided_at=after,
                outcome_note=r["outcome_note"],
                moves_since=[m for m in moves if after and m.changed_at >= after],
            )
        )
    return out


def pending_approvals(membership: Membership) -> list[ApprovalRequest]:
    qs = ApprovalRequest.objects.filter(workspace_id=membership.workspace_id).select_related(
        "option__session__deal", "requested_by", "decided_by"
    )
    if membership.role != Role.LEADER:
        from unstuck.cocreate.access import sessions_visible_to

        qs = qs.filter(option__session__in=sessions_visible_to(membership))
    rows = list(qs.order_by("-created_at", "-pk")[:100])
    rows.sort(key=lambda a: a.status != ApprovalStatus.PENDING)  # stable: waiting ones first
    return rows


# A decided session whose deal has not moved for this long is proposed as "still stuck".
NO_CHANGE_DAYS = 30


@dataclass(frozen=True)
class OutcomeProposal:
    outcome: str  # an Outcome value
    reason: str  # the stage move (or its absence) it comes from, for the manager to confirm


def outcome_proposal(
    session: Session, *, now: datetime | None = None, no_change_days: int = NO_CHANGE_DAYS
) -> OutcomeProposal | None:
    """The session's outcome as the deal's later stage moves show it: won, lost, moved
    forward, or no change after `no_change_days`. None while it is too soon to say (or
    before the decision). The manager confirms it (services.session_record_outcome)."""
    if session.decided_at is None:
        return None
    now = now or timezone.now()
    moves = list(
        StageChange.objects.filter(deal_id=session.deal_id, changed_at__gte=session.decided_at)
        .exclude(from_stage=F("to_stage"))
        .select_related("to_stage")
        .order_by("changed_at", "pk")
    )
    before = (
        StageChange.objects.filter(deal_id=session.deal_id, changed_at__lt=session.decided_at)
        .select_related("to_stage")
        .order_by("-changed_at", "-pk")
        .first()
    )
    start_order = before.to_stage.order if before else None
    for m in moves:
        day = f"{m.changed_at:%b %d}"
        if m.to_stage.kind == StageKind.WON:
            return OutcomeProposal(Outcome.WON, f"the deal was won on {day}")
        if m.to_stage.kind == StageKind.LOST:
            return OutcomeProposal(Outcome.LOST, f"the deal was lost on {day}")
    forward = [m for m in moves if start_order is None or m.to_stage.order > start_order]
    if forward:
        last = forward[-1]
        return OutcomeProposal(
            Outcome.MOVED,
            f"the deal moved forward to {last.to_stage.name} on {last.changed_at:%b %d}",
        )
    days = (now - session.decided_at).days
    if days >= no_change_days:
        return OutcomeProposal(
            Outcome.NO_CHANGE, f"no forward stage move in the {days} days since the decision"
        )
    return None
