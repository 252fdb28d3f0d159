"""Reads of Investigate: the innovation queue, a deal's investigation and its checklist,
and the diagnosis rows of the CLI and API. Fixed number of queries per page."""

from __future__ import annotations

import json
from collections.abc import Generator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache, cached_property
from typing import Any

from django.conf import settings
from django.core.paginator import Page
from django.db import connection
from django.db.models import (
    Count,
    Exists,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from unstuck.core.access import DealScope, deal_scope, deals_visible_to
from unstuck.core.models import Membership, User
from unstuck.core.pagination import paginator as make_paginator
from unstuck.deals.models import (
    BuyingRole,
    Contact,
    Deal,
    DealQuerySet,
    Influence,
    Stage,
    Stakeholder,
    Stance,
)
from unstuck.investigate import stall_score
from unstuck.investigate.models import (
    CustomerPain,
    DealAssessment,
    DecisionStep,
    Factor,
    FeedbackEntry,
    FeedbackKind,
    InvestigationRequest,
    Obstacle,
    ObstacleKind,
    ObstacleStatus,
    QueueTally,
    StakeholderView,
    StepStatus,
    WinModel,
)
from unstuck.investigate.scoring_cache import scoring_config
from unstuck.investigate.sql import aware, fetch_dicts, table
from unstuck.investigate.stall_signals import (
    STALL_WARNING,
    describe,
    iter_signal_rows,
    signal_rows,
)


def _visible_open(membership: Membership) -> DealQuerySet:
    return deals_visible_to(membership).open()


def _queue_assessments(
    membership: Membership, visible: DealQuerySet, *, stuck_only: bool
) -> QuerySet[DealAssessment]:
    """The assessments of the queue in its order (best payoff first), each with its count of
    unanswered requests: the one query behind the page and the API."""
    unanswered = (
        InvestigationRequest.objects.filter(deal_id=OuterRef("deal_id"), answered_at__isnull=True)
        .order_by()
        .values("deal_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    # EXISTS, not IN: the page walks the assessments in its order and checks each deal, so
    # SQLite does not first list every deal the member may see.
    qs = (
        DealAssessment.objects.filter(
            Exists(visible.filter(pk=OuterRef("deal_id"))), workspace_id=membership.workspace_id
        )
        .annotate(open_requests=Coalesce(Subquery(unanswered), 0))
        .order_by("-payoff", "-stall_score", "deal_id")
    )
    if stuck_only:
        qs = qs.filter(stall_score__gte=STALL_WARNING)
    return qs


def queue_page(
    membership: Membership,
    page_number: Any,
    *,
    stuck_only: bool = True,
    count: int | None = None,
    visible: DealQuerySet | None = None,
) -> Page[Any]:
    """Open deals the member may see, best payoff of a manager's effort first, as
    assessments with their deal (the API's rows; the page reads `queue`'s lighter rows).

    count, when the caller has it (queue_summary counts the same rows), saves the paginator
    its own count; visible is the member's open deals, when the caller already built it."""
    visible = _visible_open(membership) if visible is None else visible
    qs = _queue_assessments(membership, visible, stuck_only=stuck_only).select_related(
        "deal", "deal__account", "deal__owner", "deal__stage"
    )
    size = settings.UNSTUCK_PAGE_SIZE
    return make_paginator(qs, size, count).get_page(page_number)


@dataclass(slots=True)
class QueueRow:
    """One line of the queue page, ready to show: the page's template only places these
    (50 rows of model instances, related objects and per-row filters were most of the page's
    time at 100,000 deals, issue 16)."""

    deal_id: int
    rank: int
    name: str
    url: str
    start_url: str
    stage: str
    open_requests: str  # "2 open requests", or "" for none
    byline: str  # owner · amount · days in stage
    reasons: list[dict[str, Any]]  # the first three signals (severity, label, text)
    more: int  # signals not shown
    payoff: str  # "" when innovating would win nothing back
    odds: str  # "win 20 % → 45 %"
    stall_score: int
    score_class: str  # "bad" or "warn"


# The page's 50 rows, written out (issue 16.2): building and compiling the same read through
# the ORM (an EXISTS per deal on the member's deals, a subquery, three joins) cost about 2 ms
# of CPU a page, and PostgreSQL about 1 ms to plan the EXISTS form, for a statement that runs
# in half a millisecond. The inner query walks `assessment_ws_stuck_rank` (or
# `assessment_ws_rank`) in the queue's order and looks each deal up by its key, so it stops
# after a page; the deal must still be open and the member's to see (the access rule's own
# condition, core.access.DealScope.sql). The open requests, the stage and the owner are read
# for the page's rows only, not for the rows an OFFSET skips (a third of page 3's time on
# PostgreSQL). One column per `_queue_row_columns` field, converted as the ORM would.
_QUEUE_PAGE = """
SELECT p.deal_id, p.payoff, p.stall_score, p.signals, p.win_probability,
       p.comparable_probability,
       (SELECT COUNT(*) FROM investigate_investigationrequest r
        WHERE r.deal_id = p.deal_id AND r.answered_at IS NULL),
       p.name, p.amount, p.currency, p.stage_entered_at,
       (SELECT s.name FROM deals_stage s WHERE s.id = p.stage_id),
       u.name, u.email
FROM (
  SELECT a.deal_id, a.payoff, a.stall_score, a.signals, a.win_probability,
         a.comparable_probability, d.name, d.amount, d.currency, d.stage_entered_at,
         d.stage_id, d.owner_id
  FROM investigate_dealassessment a
  JOIN deals_deal d ON d.id = a.deal_id
  WHERE a.workspace_id = %s {stuck} AND d.workspace_id = %s AND d.status = %s {scope}
  ORDER BY a.payoff DESC, a.stall_score DESC, a.deal_id
  LIMIT %s OFFSET %s
) p
LEFT JOIN core_user u ON u.id = p.owner_id
ORDER BY p.payoff DESC, p.stall_score DESC, p.deal_id
"""


@cache
def _queue_row_columns() -> list[Any]:
    from unstuck.core.models import User

    a, deal, user = DealAssessment._meta, Deal._meta, User._meta
    return [
        *(a.get_field(f) for f in ("deal", "payoff", "stall_score", "signals")),
        *(a.get_field(f) for f in ("win_probability", "comparable_probability")),
        None,  # the count of open requests
        *(deal.get_field(f) for f in ("name", "amount", "currency", "stage_entered_at")),
        Stage._meta.get_field("name"),
        *(user.get_field(f) for f in ("name", "email")),
    ]


def _queue_page_rows(
    membership: Membership, scope: DealScope, *, stuck_only: bool, offset: int, limit: int
) -> list[tuple[Any, ...]]:
    """Rows of the queue's page in its order: the columns of `_QUEUE_PAGE`."""
    from unstuck.deals.models import StageKind
    from unstuck.investigate import sql

    condition = scope.sql("d")
    ws = membership.workspace_id
    statement = _QUEUE_PAGE.format(
        stuck=f"AND a.stall_score >= {int(STALL_WARNING)}" if stuck_only else "",
        scope="" if condition is None else f"AND {condition[0]}",
    )
    params = [ws, ws, StageKind.OPEN.value, *(condition[1] if condition else []), limit, offset]
    return sql.fetch_fields(statement, params, _queue_row_columns())


def _queue_rows(rows: list[tuple[Any, ...]], first_rank: int, slug: str) -> list[QueueRow]:
    """QueueRows from the page's rows (`_QUEUE_PAGE`'s columns), ranked from first_rank."""
    from unstuck.core.models import User
    from unstuck.core.templatetags.unstuck import format_money, row_url, whole_days
    from unstuck.investigate.templatetags.investigate import percent

    deal_url = row_url("deals:detail", "pk", slug=slug)
    start_url = row_url("cocreate:start", "deal_pk", slug=slug)
    now = timezone.now()
    out = []
    for rank, row in enumerate(rows, start=first_rank):
        (deal_id, payoff, score, signals, win, comparable, n) = row[:7]
        (name, amount, currency, entered, stage, owner_name, owner_email) = row[7:]
        owner = User.name_shown(owner_name, owner_email) if owner_email is not None else ""
        # An unknown duration shows as "—", as elsewhere in the product (not "None days").
        in_stage = "—" if entered is None else f"{whole_days(entered, now)} days"
        signals = signals or []
        out.append(
            QueueRow(
                deal_id=deal_id,
                rank=rank,
                name=name,
                url=deal_url.for_id(deal_id),
                start_url=start_url.for_id(deal_id),
                stage=stage,
                open_requests=f"{n} open request{'s' if n != 1 else ''}" if n else "",
                byline=f"{owner or 'Unassigned'} · {format_money(amount, currency)} "
                f"· in stage {in_stage}",
                reasons=signals[:3],
                more=max(len(signals) - 3, 0),
                payoff=format_money(payoff, currency) if payoff >= 1 else "",
                odds=f"win {percent(win)} → {percent(comparable)}",
                stall_score=score,
                score_class="bad" if score >= 60 else "warn",
            )
        )
    return out


class _QueueRows:
    """The queue's rows for the paginator, which asks for one slice: one statement."""

    def __init__(self, membership: Membership, scope: DealScope, *, stuck_only: bool) -> None:
        self.membership, self.scope, self.stuck_only = membership, scope, stuck_only

    def __getitem__(self, page: slice) -> list[QueueRow]:
        start, stop = page.start or 0, page.stop
        if stop <= start:  # nothing to show (no statement, as for an empty queryset)
            return []
        rows = _queue_page_rows(
            self.membership, self.scope, stuck_only=self.stuck_only, offset=start,
            limit=stop - start,
        )  # fmt: skip
        return _queue_rows(rows, start + 1, self.membership.workspace.slug)


@dataclass
class QueueSummary:
    stuck: int
    open_deals: int
    value_at_stake: float
    computed_at: datetime | None
    # The workspace has never been scored: its zeros would mean "not yet", not "none".
    never_scored: bool = False


def queue_summary(membership: Membership, *, scope: DealScope | None = None) -> QueueSummary:
    """The stuck deals, open deals and payoff within reach of what the member may see: the
    stored tallies of the owners and teams the access rule covers (investigate.tally), a
    few rows whatever the pipeline's size. scope: the member's read rule, when the caller
    has it already."""
    scope = deal_scope(membership, write=False) if scope is None else scope
    stuck = Q(stall_score__gte=STALL_WARNING)
    if scope.invited_user_id is not None:
        # A partner's deals are theirs by invitation, which no tally follows: counted live
        # (a partner is invited to a few deals).
        visible = deals_visible_to(membership, scope=scope).open()
        agg = DealAssessment.objects.filter(
            workspace_id=membership.workspace_id, deal__in=visible
        ).aggregate(
            n=Count("pk"),
            stuck=Count("pk", filter=stuck),
            payoff=Sum("payoff", filter=stuck),
            at=Max("computed_at"),
        )
    else:
        # The rule's condition on deals (owner, teams) reads the tallies' columns of the same
        # names; None is the whole workspace. Written out: the ORM's aggregate took longer to
        # build than the statement takes to run (issue 16.2).
        from unstuck.investigate import sql

        condition = scope.sql("t")
        statement = (
            "SELECT SUM(t.open_deals), SUM(t.stuck), SUM(t.payoff), MAX(t.computed_at) "
            "FROM investigate_queuetally t WHERE t.workspace_id = %s"
        )
        if condition is not None:
            statement += f" AND {condition[0]}"
        params = [membership.workspace_id, *(condition[1] if condition else [])]
        at_field = QueueTally._meta.get_field("computed_at")
        n, stuck_n, payoff, at = sql.fetch_fields(statement, params, [None, None, None, at_field])[
            0
        ]
        agg = {"n": n, "stuck": stuck_n, "payoff": payoff, "at": at}
    # Scoring stores the win model first; without one nor any score, it has never run (one
    # more query, only then).
    never_scored = (
        agg["at"] is None
        and not WinModel.objects.filter(workspace_id=membership.workspace_id).exists()
    )
    return QueueSummary(
        stuck=agg["stuck"] or 0,
        open_deals=agg["n"] or 0,
        value_at_stake=float(agg["payoff"] or 0),
        computed_at=agg["at"],
        never_scored=never_scored,
    )


@dataclass(slots=True)
class OverdueRequest:
    """An unanswered request past its due date, as the queue lists it."""

    deal_id: int
    deal_name: str
    question: str
    due_date: date
    assignee: str  # the display name, "" when nobody is assigned any more


_OVERDUE = """
SELECT r.deal_id, d.name, r.question, r.due_date, u.name, u.email
FROM investigate_investigationrequest r
JOIN deals_deal d ON d.id = r.deal_id
LEFT JOIN core_user u ON u.id = r.assignee_id
WHERE d.workspace_id = %s {scope} AND r.answered_at IS NULL AND r.due_date < %s
ORDER BY r.due_date, r.id
LIMIT 20
"""


def overdue_requests(
    membership: Membership, *, scope: DealScope | None = None
) -> list[OverdueRequest]:
    """Unanswered requests past their due date on deals the member may see, the 20 due
    first: written out, with the columns shown only (the ORM's form took about 1.5 ms of
    CPU to build, issue 16.2)."""
    from unstuck.core.models import User
    from unstuck.investigate import sql

    scope = deal_scope(membership, write=False) if scope is None else scope
    condition = scope.sql("d")
    statement = _OVERDUE.format(scope="" if condition is None else f"AND {condition[0]}")
    params: list[Any] = [membership.workspace_id, *(condition[1] if condition else [])]
    params.append(timezone.localdate())
    request, deal = InvestigationRequest._meta, Deal._meta
    fields: list[Any] = [None, deal.get_field("name"), request.get_field("question")]
    fields += [request.get_field("due_date"), None, None]
    return [
        OverdueRequest(
            deal_id=deal_id,
            deal_name=name,
            question=question,
            due_date=due,
            assignee=User.name_shown(assignee_name, email) if email is not None else "",
        )
        for deal_id, name, question, due, assignee_name, email in sql.fetch_fields(
            statement, params, fields
        )
    ]


def requests_asked_of(membership: Membership) -> Any:
    """What a person has been asked to find out, on deals they still see: open ones by due
    date, then those answered in the last 30 days."""
    since = timezone.now() - timedelta(days=30)
    return (
        InvestigationRequest.objects.filter(
            Exists(deals_visible_to(membership).filter(pk=OuterRef("deal_id"))),
            assignee_id=membership.user_id,
            deal__workspace_id=membership.workspace_id,
        )
        .filter(Q(answered_at__isnull=True) | Q(answered_at__gte=since))
        .select_related("deal", "deal__account", "asked_by")
        .order_by(F("answered_at").desc(nulls_first=True), "due_date", "pk")
    )


def open_requests_count(membership: Membership) -> int:
    """How many questions wait for this person's answer (one query, for the navigation)."""
    return InvestigationRequest.objects.filter(
        Exists(deals_visible_to(membership).filter(pk=OuterRef("deal_id"))),
        assignee_id=membership.user_id,
        deal__workspace_id=membership.workspace_id,
        answered_at__isnull=True,
    ).count()


@dataclass
class Queue:
    page: Page[Any]
    summary: QueueSummary
    overdue: list[OverdueRequest]
    # How the workspace's stall score is computed, for the note beside it.
    score_model: stall_score.StallModel | None = None


def queue(membership: Membership, page_number: Any, *, stuck_only: bool = True) -> Queue:
    """Everything on the queue page: who may see which deals is worked out once, and the
    pager's count is the summary's, which counts the same rows. The page's rows are
    `QueueRow`s, read as plain values (no model instances) and formatted here."""
    scope = deal_scope(membership, write=False)
    summary = queue_summary(membership, scope=scope)
    count = summary.stuck if stuck_only else summary.open_deals
    rows = _QueueRows(membership, scope, stuck_only=stuck_only)
    page = make_paginator(rows, settings.UNSTUCK_PAGE_SIZE, count).get_page(page_number)
    return Queue(
        page=page,
        summary=summary,
        overdue=overdue_requests(membership, scope=scope),
        score_model=scoring_config(membership.workspace).scorer,
    )


# --- the investigation on one deal ------------------------------------------------------


@dataclass
class ChecklistItem:
    label: str
    done: bool
    hint: str


@dataclass(frozen=True, slots=True)
class StepRow:
    """A step of the customer's decision process, as the deal page shows it."""

    pk: int
    name: str
    owner: str
    status: str
    status_label: str


@dataclass(frozen=True, slots=True)
class FeedbackRow:
    """A line of the deal's feedback log, as the deal page shows it."""

    kind: str
    text: str
    author: str  # the author's display name, "" when the author is gone
    created_at: datetime


@dataclass(frozen=True, slots=True)
class RequestRow:
    """A request from manager to rep, as the deal page (and the API) shows it."""

    pk: int
    question: str
    due_date: date
    answer: str
    answered_at: datetime | None
    asked_by: str  # display names, "" when the person is gone
    asked_by_email: str | None
    assignee: str
    assignee_email: str | None
    assignee_id: int | None
    is_overdue: bool


@dataclass
class Investigation:
    deal: Deal
    stakeholders: list[StakeholderRow]
    steps: list[StepRow]
    obstacles: list[ObstacleRow]
    pain: PainRow | None
    feedback: list[FeedbackRow]
    requests: list[RequestRow]
    checklist: list[ChecklistItem] = field(default_factory=list)

    @property
    def completeness(self) -> int:
        if not self.checklist:
            return 0
        return round(100 * sum(i.done for i in self.checklist) / len(self.checklist))

    @property
    def stuck_step(self) -> StepRow | None:
        return next((s for s in self.steps if s.status == StepStatus.STUCK), None)


def _view(s: StakeholderRow) -> Any:
    return getattr(s, "view", None)


def checklist_for(inv: Investigation) -> list[ChecklistItem]:
    """Completeness computed from the investigation data; never ticked by hand."""
    people = inv.stakeholders
    deciders = [
        s for s in people if s.buying_role in {BuyingRole.ECONOMIC_BUYER, BuyingRole.DECISION_MAKER}
    ]
    with_concerns = [s for s in people if _view(s) and _view(s).financial_concerns]
    with_factors = [s for s in people if _view(s) and _view(s).factors]
    key_people = deciders or [s for s in people if s.influence == 3] or people
    working = {f.kind for f in inv.feedback}
    return [
        ChecklistItem(
            "Who is involved",
            len(people) >= 2 and bool(deciders),
            "At least two people mapped, one of them the economic buyer or decision maker.",
        ),
        ChecklistItem(
            "Their financial concerns",
            bool(with_concerns) and all(_view(s) and _view(s).financial_concerns for s in deciders),
            "Financial concerns recorded for the economic buyer and decision makers.",
        ),
        ChecklistItem(
            "The factors they weigh",
            bool(with_factors) and all(_view(s) and _view(s).factors for s in key_people),
            "Factors recorded for each key person.",
        ),
        ChecklistItem(
            "The decision process",
            len(inv.steps) >= 2,
            "At least two steps of the customer's decision process, with owners.",
        ),
        ChecklistItem(
            "Where it is stuck",
            inv.stuck_step is not None
            or any(o.status == ObstacleStatus.OPEN for o in inv.obstacles),
            "A step marked as bogged down, or an open obstacle.",
        ),
        ChecklistItem(
            "The pain and its resolution",
            bool(inv.pain and inv.pain.pain and inv.pain.resolution),
            "The customer's pain and how we could resolve it.",
        ),
        ChecklistItem(
            "What's working and what isn't",
            {FeedbackKind.WORKING, FeedbackKind.NOT_WORKING} <= working,
            "At least one note of each in the feedback log.",
        ),
    ]


@dataclass(frozen=True, slots=True)
class ViewRow:
    """A committee member's view: what they worry about and weigh."""

    financial_concerns: str
    factors: list[str]
    factor_labels: list[str]
    updated_at: datetime  # the version its edit form carries back


@dataclass(frozen=True, slots=True)
class StakeholderRow:
    """A member of the buying committee, as the deal page's cards show them."""

    pk: int
    name: str  # their contact's
    title: str
    buying_role: str
    buying_role_label: str
    influence: int
    influence_label: str
    stance: str
    stance_label: str
    notes: str
    view: ViewRow | None


@dataclass(frozen=True, slots=True)
class ObstacleRow:
    pk: int
    kind: str
    kind_label: str
    description: str
    evidence: str
    status: str
    created_at: datetime
    stakeholder_id: int | None
    stakeholder: str  # the stakeholder's contact's name


@dataclass(frozen=True, slots=True)
class PainRow:
    pain: str
    resolution: str
    updated_at: datetime  # the version its edit form carries back


@dataclass(frozen=True, slots=True)
class AssessmentRow:
    """What the deal page shows of the stored assessment."""

    signals: list[dict[str, Any]]
    win_probability: float
    comparable_probability: float
    payoff: float
    factors: list[dict[str, Any]]


def _json(value: Any) -> Any:
    """A JSON column read by written SQL (text from both backends, as Django has it)."""
    return json.loads(value) if isinstance(value, str | bytes) else value


def _name(name: str | None, email: str | None) -> str:
    """A person's display name from their two columns ("" for nobody)."""
    return "" if email is None else User.name_shown(name or "", email)


class DealReads:
    """What several cards of the deal page read (the committee card, the investigation, the
    playbook's deal facts), each read once per request, when a card first needs it, and
    shared by the cards (the stakeholder form's partial reads only the committee).

    Each part but the stages is a few rows of one deal, read by written SQL into frozen
    rows that carry what the cards show (labels, display names): the ORM took 0.3-0.8 ms of
    CPU per statement to build, compile and make models of them, a cursor about 0.03 ms,
    and the page makes a dozen such reads (issue 16)."""

    def __init__(self, deal: Deal) -> None:
        self.deal = deal

    @cached_property
    def stakeholders(self) -> list[StakeholderRow]:
        """With their contact's name and title and their view, in the model's order (most
        influence first, then by name)."""
        roles, influences = dict(BuyingRole.choices), dict(Influence.choices)
        stances, factors = dict(Stance.choices), dict(Factor.choices)
        rows = fetch_dicts(
            "SELECT s.id, s.buying_role, s.influence, s.stance, s.notes, c.name, c.title, "
            "v.stakeholder_id AS view_id, v.financial_concerns, v.factors, v.updated_at "
            f"FROM {table(Stakeholder)} s JOIN {table(Contact)} c ON c.id = s.contact_id "
            f"LEFT JOIN {table(StakeholderView)} v ON v.stakeholder_id = s.id "
            "WHERE s.deal_id = %s ORDER BY s.influence DESC, c.name",
            [self.deal.pk],
        )
        out = []
        for r in rows:
            view = None
            if r["view_id"] is not None:
                chosen = _json(r["factors"])
                view = ViewRow(
                    financial_concerns=r["financial_concerns"],
                    factors=chosen,
                    factor_labels=[factors.get(f, f) for f in chosen],
                    updated_at=aware(r["updated_at"]),
                )
            out.append(
                StakeholderRow(
                    pk=r["id"],
                    name=r["name"],
                    title=r["title"],
                    buying_role=r["buying_role"],
                    buying_role_label=roles.get(r["buying_role"], r["buying_role"]),
                    influence=r["influence"],
                    influence_label=influences.get(r["influence"], str(r["influence"])),
                    stance=r["stance"],
                    stance_label=stances.get(r["stance"], r["stance"]),
                    notes=r["notes"],
                    view=view,
                )
            )
        return out

    @cached_property
    def obstacles(self) -> list[ObstacleRow]:
        """In the model's order (open first, newest first), with the stakeholder's name."""
        labels = dict(ObstacleKind.choices)
        rows = fetch_dicts(
            "SELECT o.id, o.kind, o.description, o.evidence, o.status, o.created_at, "
            f"o.stakeholder_id, c.name FROM {table(Obstacle)} o "
            f"LEFT JOIN {table(Stakeholder)} s ON s.id = o.stakeholder_id "
            f"LEFT JOIN {table(Contact)} c ON c.id = s.contact_id "
            "WHERE o.deal_id = %s ORDER BY o.status, o.created_at DESC",
            [self.deal.pk],
        )
        return [
            ObstacleRow(
                pk=r["id"],
                kind=r["kind"],
                kind_label=labels.get(r["kind"], r["kind"]),
                description=r["description"],
                evidence=r["evidence"],
                status=r["status"],
                created_at=aware(r["created_at"]),
                stakeholder_id=r["stakeholder_id"],
                stakeholder=r["name"] or "",
            )
            for r in rows
        ]

    @cached_property
    def pain(self) -> PainRow | None:
        rows = fetch_dicts(
            f"SELECT pain, resolution, updated_at FROM {table(CustomerPain)} WHERE deal_id = %s",
            [self.deal.pk],
        )
        if not rows:
            return None
        r = rows[0]
        return PainRow(r["pain"], r["resolution"], aware(r["updated_at"]))

    @cached_property
    def assessment(self) -> AssessmentRow | None:
        """The stored assessment (why it is flagged shows its odds, the playbook its signals)."""
        rows = fetch_dicts(
            "SELECT signals, win_probability, comparable_probability, payoff, factors "
            f"FROM {table(DealAssessment)} WHERE deal_id = %s",
            [self.deal.pk],
        )
        if not rows:
            return None
        r = rows[0]
        return AssessmentRow(
            signals=_json(r["signals"]),
            win_probability=r["win_probability"],
            comparable_probability=r["comparable_probability"],
            payoff=r["payoff"],
            factors=_json(r["factors"]),
        )

    @cached_property
    def stages(self) -> list[Stage]:
        """The stages of the deal's pipeline in their order (the move form's options, the
        timeline's stages, the playbook's phase of the deal)."""
        return list(Stage.objects.filter(pipeline_id=self.deal.pipeline_id).order_by("order"))

    # The investigation's own reads, written as SQL: each is a handful of rows of one deal,
    # which the ORM took 0.3-0.6 ms of CPU to build, compile and make into models, and a
    # cursor reads in 0.03 ms (issue 16).

    @cached_property
    def steps(self) -> list[StepRow]:
        """The decision process in its order."""
        labels = dict(StepStatus.choices)
        rows = fetch_dicts(
            f"SELECT id, name, owner, status FROM {table(DecisionStep)} WHERE deal_id = %s "
            f"ORDER BY {connection.ops.quote_name('order')}, id",
            [self.deal.pk],
        )
        return [
            StepRow(r["id"], r["name"], r["owner"], r["status"], labels.get(r["status"], ""))
            for r in rows
        ]

    @cached_property
    def feedback(self) -> list[FeedbackRow]:
        """The newest 30 lines of the feedback log, newest first."""
        rows = fetch_dicts(
            f"SELECT f.kind, f.text, f.created_at, u.name, u.email FROM {table(FeedbackEntry)} f "
            f"LEFT JOIN {table(User)} u ON u.id = f.author_id WHERE f.deal_id = %s "
            "ORDER BY f.created_at DESC, f.id DESC LIMIT 30",
            [self.deal.pk],
        )
        return [
            FeedbackRow(r["kind"], r["text"], _name(r["name"], r["email"]), aware(r["created_at"]))
            for r in rows
        ]

    @cached_property
    def requests(self) -> list[RequestRow]:
        """Requests to the rep: open ones first (answered ones after, on SQLite; the order
        the ORM's `-answered_at` gives each database), then by due date."""
        rows = fetch_dicts(
            "SELECT r.id, r.question, r.due_date, r.answer, r.answered_at, r.assignee_id, "
            "a.name AS a_name, a.email AS a_email, s.name AS s_name, s.email AS s_email "
            f"FROM {table(InvestigationRequest)} r "
            f"LEFT JOIN {table(User)} a ON a.id = r.asked_by_id "
            f"LEFT JOIN {table(User)} s ON s.id = r.assignee_id "
            "WHERE r.deal_id = %s ORDER BY r.answered_at DESC, r.due_date, r.id",
            [self.deal.pk],
        )
        today = timezone.localdate()
        return [
            RequestRow(
                pk=r["id"],
                question=r["question"],
                due_date=r["due_date"],
                answer=r["answer"],
                answered_at=aware(r["answered_at"]),
                asked_by=_name(r["a_name"], r["a_email"]),
                asked_by_email=r["a_email"],
                assignee=_name(r["s_name"], r["s_email"]),
                assignee_email=r["s_email"],
                assignee_id=r["assignee_id"],
                is_overdue=r["answered_at"] is None and r["due_date"] < today,
            )
            for r in rows
        ]

    @property
    def stall_signals(self) -> set[str]:
        """The codes of the signals the stored assessment found."""
        found = self.assessment
        return {s.get("code", "") for s in (found.signals if found else [])}

    @property
    def stakeholders_by_influence(self) -> list[StakeholderRow]:
        """Most influential first, then oldest: the order the investigation shows them in."""
        return sorted(self.stakeholders, key=lambda s: (-s.influence, s.pk))

    @property
    def open_obstacles(self) -> list[ObstacleRow]:
        """Open obstacles, newest first (ties oldest row first)."""
        found = (o for o in self.obstacles if o.status == ObstacleStatus.OPEN)
        return sorted(found, key=lambda o: (o.created_at, -o.pk), reverse=True)


def deal_reads(deal: Deal) -> DealReads:
    """One query per part, each on first use (the committee with their views, the
    obstacles, the customer's pain, the assessment, the stages, the investigation's steps,
    feedback and requests)."""
    return DealReads(deal)


def deal_investigation(deal: Deal, reads: DealReads | None = None) -> Investigation:
    """Everything on the deal's investigation card, in a fixed number of queries (fewer
    given what the page has read already)."""
    if reads is None:
        reads = deal_reads(deal)
    inv = Investigation(
        deal=deal,
        stakeholders=reads.stakeholders_by_influence,
        steps=reads.steps,
        obstacles=reads.obstacles,
        pain=reads.pain,
        feedback=reads.feedback,
        requests=reads.requests,
    )
    inv.checklist = checklist_for(inv)
    return inv


def deal_stall(deal: Deal, reads: DealReads | None = None) -> dict[str, Any] | None:
    """Live score and signals of one open deal, plus its stored win probability (read
    through `reads` when the page has them, so the playbook's card reads it no more)."""
    if not deal.is_open:
        return None
    # The thresholds, benchmarks and model as this process keeps them for the workspace's
    # scoring version.
    config = scoring_config(deal.workspace)
    rows = signal_rows(
        deal.workspace, deal_id=deal.pk, benchmarks=list(config.benchmarks), stall=config.stall
    )
    if not rows:
        return None
    scorer = config.scorer
    stall_score.apply(scorer, rows)
    row = rows[0]
    row["signals"] = describe(row)
    row["score_model"] = scorer
    row["assessment"] = (reads or deal_reads(deal)).assessment
    return row


def _diagnosis_row(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "deal_id": row["deal_id"],
        "external_id": row["external_id"],
        "name": row["name"],
        "stage": row["stage_name"],
        "days_in_stage": round(float(row["days_in_stage"] or 0), 1),
        "amount": float(row["amount_now"] or 0),
        "stall_score": row["stall_score"],
        "signals": [s.as_dict() for s in describe(row)],
    }


def iter_diagnosis(
    membership: Membership | None,
    workspace: Any,
    *,
    as_of: datetime | None = None,
    min_score: int | None = None,
    chunk_size: int = 2000,
) -> Generator[dict[str, Any], None, None]:
    """Open deals (as of a moment) with stall score and signals, worst first, one at a time:
    a million open deals are written out without being held in memory.

    As of a past moment, the score is learnt from what was known then (benchmarks and
    model), so the answer is the one that day's data gave. Whichever score applies (the
    fixed weights or the learnt one, rendered into SQL) is computed, filtered and ordered in
    the database, so the rows arrive in their final order."""
    deals = deals_visible_to(membership) if membership is not None else None
    scorer = (
        stall_score.stored(workspace)
        if as_of is None
        else stall_score.stall_model_fit(workspace, known_at=as_of)
    )
    rows = iter_signal_rows(
        workspace, as_of=as_of, deals=deals, min_score=min_score, chunk_size=chunk_size,
        scorer=scorer,
    )  # fmt: skip
    for row in rows:
        yield _diagnosis_row(row)


def diagnosis(
    membership: Membership | None,
    workspace: Any,
    *,
    as_of: datetime | None = None,
) -> list[dict[str, Any]]:
    """Open deals (as of a moment) with stall score and signals, worst first."""
    return list(iter_diagnosis(membership, workspace, as_of=as_of))
