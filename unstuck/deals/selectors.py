"""Reads that span deal models: the pipeline list and a deal's stage timeline."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.paginator import Page
from django.db.models import (
    Count,
    Q,
    QuerySet,
    Sum,
)
from django.utils import timezone
from django.utils.dates import MONTHS_3

from unstuck.core.access import deals_visible_to, managed_team_ids, managed_teams
from unstuck.core.models import Membership, Role, Team, User
from unstuck.core.pagination import paginator as make_paginator
from unstuck.core.templatetags.unstuck import whole_days
from unstuck.core.validation import parse_id
from unstuck.deals.models import (
    Account,
    Deal,
    DealQuerySet,
    Pipeline,
    Stage,
    StageChange,
    StageKind,
)

SORTS: dict[str, tuple[str, ...]] = {
    "amount": ("-amount", "-pk"),
    "close": ("close_date", "pk"),
    "-close": ("-close_date", "-pk"),
    "age": ("created_at", "pk"),
    "in-stage": ("stage_entered_at", "pk"),
    "name": ("name", "pk"),
    "stage": ("stage__order", "-amount", "-pk"),
}
SORT_LABELS = {
    "amount": "Largest amount",
    "close": "Closing soonest",
    "-close": "Closing latest",
    "age": "Oldest first",
    "in-stage": "Longest in stage",
    "name": "Name",
    "stage": "Stage",
}
STATUSES = {"open": "Open", "won": "Won", "lost": "Lost", "all": "All"}


@dataclass
class PipelineFilters:
    status: str = "open"
    pipeline: int | None = None
    team: int | None = None
    owner: int | None = None
    stage: int | None = None
    q: str = ""
    sort: str = "amount"
    errors: list[str] = field(default_factory=list)

    @classmethod
    def from_query(cls, params: Any) -> PipelineFilters:
        """Read filters from a query dict, ignoring (and noting) values that make no sense."""
        filters = cls()
        errors = filters.errors
        status = params.get("status", "open") or "open"
        if status in STATUSES:
            filters.status = status
        else:
            errors.append(f"Unknown status '{status}'; showing open deals.")
        for name in ("pipeline", "team", "owner", "stage"):
            raw = params.get(name, "")
            if raw:
                try:
                    setattr(filters, name, parse_id(raw))
                except ValueError:
                    errors.append(f"Ignored {name} '{raw}': not a valid id.")
        filters.q = (params.get("q", "") or "").strip()[:100]
        sort = params.get("sort", "amount") or "amount"
        if sort in SORTS:
            filters.sort = sort
        else:
            errors.append(f"Unknown sort '{sort}'; sorted by amount.")
        return filters


def pipeline_deals(membership: Membership, filters: PipelineFilters) -> DealQuerySet:
    qs = deals_visible_to(membership)
    if filters.status != "all":
        qs = qs.filter(status=filters.status)
    if filters.pipeline:
        qs = qs.filter(stage__pipeline_id=filters.pipeline)
    if filters.team:
        qs = qs.filter(team_id=filters.team)
    if filters.owner:
        qs = qs.filter(owner_id=filters.owner)
    if filters.stage:
        qs = qs.filter(stage_id=filters.stage)
    if filters.q:
        qs = qs.filter(_name_search(membership.workspace_id, filters.q))
    return qs.select_related("account", "owner", "stage").order_by(*SORTS[filters.sort])


# Above this many accounts matching a search, the deals are matched through a join instead.
SEARCH_ACCOUNTS_MAX = 500


def _name_search(workspace_id: int, q: str) -> Q:
    """Deals whose name, or whose account's name, contains q (any case).

    The matching accounts are looked up first (a workspace has far fewer accounts than
    deals), so the deals are then found by their own indexes, the account key and (on
    PostgreSQL) the trigram index on the name, with no join to scan the workspace through;
    SQLite scans the names, without the join. A search that matches very many accounts
    joins as before."""
    accounts = list(
        Account.objects.filter(workspace_id=workspace_id, name__icontains=q)
        .order_by()
        .values_list("pk", flat=True)[: SEARCH_ACCOUNTS_MAX + 1]
    )
    if len(accounts) > SEARCH_ACCOUNTS_MAX:
        return Q(name__icontains=q) | Q(account__name__icontains=q)
    return Q(name__icontains=q) | Q(account_id__in=accounts)


@dataclass(frozen=True)
class PipelineRow:
    """One deal of the pipeline's table, with what its cells show already formatted: the
    page's rows are read as values and formatted here, not built as four model instances each
    and formatted by template filters, which was most of the page's CPU."""

    pk: int
    name: str
    url: str
    account: str
    owner: str
    status: str
    stage: str
    amount: str
    close_date: str
    is_open: bool
    # The close date has passed while the deal is still open.
    late: bool
    # Whole days in the current stage (open deals only).
    in_stage: int | None
    # Whole days since the last activity, None without any.
    last_activity: int | None
    # An open deal with no activity for over three weeks.
    quiet: bool


# What a row reads: nothing else of the deal, its account, owner or stage.
ROW_FIELDS = (
    "pk",
    "name",
    "account__name",
    "owner__name",
    "owner__email",
    "status",
    "stage__name",
    "amount",
    "currency",
    "close_date",
    "stage_entered_at",
    "last_activity_at",
)


def _short_date(day: date) -> str:
    """What the date filter's "M j, Y" gives ("Nov 3, 2026"), without its per-call cost."""
    return f"{MONTHS_3[day.month].title()} {day.day}, {day.year:04d}"


def pipeline_rows(values: list[dict[str, Any]], slug: str) -> list[PipelineRow]:
    from unstuck.core.templatetags.unstuck import format_money, row_url

    deal_url = row_url("deals:detail", "pk", slug=slug)
    now = timezone.now()
    today = timezone.localdate()
    rows = []
    for v in values:
        is_open = v["status"] == StageKind.OPEN
        email = v["owner__email"]
        close, entered, active = v["close_date"], v["stage_entered_at"], v["last_activity_at"]
        idle = None if active is None else whole_days(active, now)
        rows.append(
            PipelineRow(
                pk=v["pk"],
                name=v["name"],
                url=deal_url.for_id(v["pk"]),
                account=v["account__name"] or "No account",
                owner=(User.name_shown(v["owner__name"], email) if email is not None else "")
                or "Unassigned",
                status=v["status"],
                stage=v["stage__name"],
                amount=format_money(v["amount"], v["currency"]),
                close_date=_short_date(close) if close else "—",
                is_open=is_open,
                late=is_open and close is not None and close < today,
                in_stage=whole_days(entered, now) if is_open else None,
                last_activity=idle,
                quiet=is_open and idle is not None and idle > 21,
            )
        )
    return rows


def pipeline_page(
    membership: Membership, filters: PipelineFilters, page_number: Any, *, count: int | None = None
) -> Page[PipelineRow]:
    """One page of the filtered view, as rows ready to show. count, when the caller has it
    (the totals count the same deals), saves the paginator a second scan of them."""
    from django.conf import settings

    deals = pipeline_deals(membership, filters).values(*ROW_FIELDS)
    page = make_paginator(deals, settings.UNSTUCK_PAGE_SIZE, count).get_page(page_number)
    page.object_list = pipeline_rows(list(page.object_list), membership.workspace.slug)
    return page


@dataclass
class PipelineTotal:
    """The filtered view's deals in one currency: how many, their amount, and the amount
    weighted by each deal's stage probability."""

    currency: str
    count: int
    amount: Decimal
    weighted: Decimal


def pipeline_totals(
    membership: Membership,
    filters: PipelineFilters,
    *,
    probabilities: dict[int, int] | None = None,
) -> list[PipelineTotal]:
    """Totals over every deal the filters match (not only the page shown), one row per
    currency, since amounts in different currencies do not add up, most deals first.

    The database sums the amounts per currency and stage, from the covering index alone, and
    the stages' probabilities weight those few sums here: the same exact figure as weighting
    each deal in SQL, for half the database's CPU (no join to the stages, no multiplication
    per deal). probabilities: stage id → probability, when the caller has the stages already
    (the filter's choices); stages missing from it are read."""
    rows = list(
        pipeline_deals(membership, filters)
        .order_by()
        .values("currency", "stage_id")
        .annotate(n=Count("pk"), total=Sum("amount"))
    )
    known = dict(probabilities or {})
    if missing := {r["stage_id"] for r in rows} - known.keys():
        known.update(Stage.objects.filter(pk__in=missing).values_list("pk", "probability"))
    by_currency: dict[str, PipelineTotal] = {}
    for r in rows:
        total = by_currency.setdefault(
            r["currency"], PipelineTotal(r["currency"], 0, Decimal(0), Decimal(0))
        )
        amount = Decimal(r["total"] or 0)
        total.count += r["n"]
        total.amount += amount
        total.weighted += amount * known[r["stage_id"]]
    for total in by_currency.values():
        total.weighted = (total.weighted / 100).quantize(Decimal("1.00"))
    return sorted(by_currency.values(), key=lambda t: (-t.count, t.currency))


CSV_HEADER = [
    "id",
    "deal",
    "account",
    "owner",
    "pipeline",
    "stage",
    "status",
    "amount",
    "currency",
    "probability_pct",
    "weighted_amount",
    "close_date",
    "days_in_stage",
    "last_activity",
]


def pipeline_csv_rows(membership: Membership, filters: PipelineFilters) -> Iterator[list[Any]]:
    """The filtered view's deals as CSV rows (write them through core.csvexport), in the
    view's order; streamed from the database in chunks."""
    from unstuck.core.templatetags.unstuck import days_since  # the page's days in stage

    deals = pipeline_deals(membership, filters).select_related("stage__pipeline")
    for deal in deals.iterator(chunk_size=2000):
        weighted = (deal.amount * deal.stage.probability / 100).quantize(Decimal("1.00"))
        yield [
            deal.pk,
            deal.name,
            deal.account.name if deal.account else "",
            deal.owner.display_name if deal.owner else "",
            deal.stage.pipeline.name,
            deal.stage.name,
            deal.status,
            deal.amount,
            deal.currency,
            deal.stage.probability,
            weighted,
            deal.close_date.isoformat() if deal.close_date else "",
            days_since(deal.stage_entered_at) if deal.is_open else "",
            timezone.localtime(deal.last_activity_at).date().isoformat()
            if deal.last_activity_at
            else "",
        ]


@dataclass
class FilterChoices:
    teams: list[Team]
    owners: list[User]
    stages: list[Stage]
    pipelines: list[Pipeline] = field(default_factory=list)


def pipeline_filter_choices(
    membership: Membership, filters: PipelineFilters | None = None
) -> FilterChoices:
    """The teams, owners, pipelines and stages a member may filter by (only what they could
    see). The stages are the selected pipeline's; with none selected, every pipeline's,
    which the page groups by pipeline (an imported pipeline's stage is not the demo's)."""
    ws = membership.workspace
    # A manager's teams are read once a request (the access rules ask too), a rep's came
    # with the membership: only a leader's needs a statement of its own.
    teams: list[Team] = []
    # One join to the owners' memberships (a person has one per workspace, so no DISTINCT),
    # and only the columns the filter shows.
    owners_in = Q(memberships__workspace=ws, memberships__role__in=[Role.REP, Role.MANAGER])
    if membership.role == Role.LEADER:
        teams = list(Team.objects.filter(workspace=ws))
    elif membership.role == Role.MANAGER:
        teams = managed_teams(membership)
        owners_in &= Q(memberships__team_id__in=managed_team_ids(membership)) | Q(
            pk=membership.user_id
        )
    elif membership.role == Role.REP:
        teams = [membership.team] if membership.team is not None else []
        if ws.reps_see_team_deals and membership.team_id:
            owners_in &= Q(memberships__team_id=membership.team_id)
        else:
            owners_in &= Q(pk=membership.user_id)
    owners: QuerySet[User] = User.objects.filter(owners_in).only("pk", "name", "email")
    if membership.role == Role.PARTNER:
        owners = owners.none()
    # Every stage of the workspace with its pipeline, in one query: the pipelines offered are
    # theirs (in Pipeline's order: the default first, then by name; a pipeline is created
    # with its stages), and a chosen pipeline keeps only its own stages.
    stages = list(
        Stage.objects.filter(pipeline__workspace=ws)
        .select_related("pipeline")
        .order_by("-pipeline__is_default", "pipeline__name", "order", "pk")
    )
    pipelines = list({s.pipeline_id: s.pipeline for s in stages}.values())
    if filters is not None and filters.pipeline:
        stages = [s for s in stages if s.pipeline_id == filters.pipeline]
    return FilterChoices(
        teams=teams,
        owners=list(owners.order_by("name")),
        stages=stages,
        pipelines=pipelines,
    )


@dataclass
class TimelineStep:
    stage: Stage
    entered_at: datetime
    left_at: datetime | None
    amount: Any
    close_date: Any
    changed_by: User | None
    is_current: bool
    went_back: bool = False
    updates: list[StageChange] = field(default_factory=list)

    @property
    def duration(self) -> timedelta:
        return (self.left_at or timezone.now()) - self.entered_at

    @property
    def days(self) -> int:
        return whole_days(self.entered_at, self.left_at)


def _stage_moves(changes: list[StageChange]) -> list[StageChange]:
    """Rows that changed the stage; the others only updated amount or close date in place."""
    moves: list[StageChange] = []
    for change in changes:
        previous = moves[-1].to_stage_id if moves else change.from_stage_id
        if not moves or change.to_stage_id != previous:
            moves.append(change)
    return moves


def deal_timeline(deal: Deal, stages: list[Stage] | None = None) -> list[TimelineStep]:
    """Each stage the deal has been in, oldest first, with the time it spent there.

    stages: the pipeline's stages when the caller has read them (the deal page): the history
    then joins no stage (a stage of another pipeline it passed through is read apart)."""
    history = StageChange.objects.filter(deal=deal).order_by("changed_at", "pk")
    if stages is None:
        changes = list(history.select_related("from_stage", "to_stage", "changed_by"))
    else:
        changes = list(history.select_related("changed_by"))
        by_id = {s.pk: s for s in stages}
        missing = {
            pk
            for c in changes
            for pk in (c.from_stage_id, c.to_stage_id)
            if pk is not None and pk not in by_id
        }
        if missing:
            by_id.update(Stage.objects.in_bulk(missing))
        for c in changes:
            if c.from_stage_id is not None:
                c.from_stage = by_id[c.from_stage_id]
            c.to_stage = by_id[c.to_stage_id]
    steps: list[TimelineStep] = []
    if not changes or changes[0].from_stage_id is not None:
        # History starts after creation (or is absent): the deal was somewhere before that.
        first_stage = changes[0].from_stage if changes else deal.stage
        first_left = changes[0].changed_at if changes else None
        if first_stage is not None:
            steps.append(
                TimelineStep(
                    stage=first_stage,
                    # Without history, the deal's own "entered this stage" is the fact the
                    # signals use too.
                    entered_at=deal.created_at if changes else deal.stage_entered_at,
                    left_at=first_left,
                    amount=None,
                    close_date=None,
                    changed_by=None,
                    is_current=not changes,
                )
            )
    moves = _stage_moves(changes)
    for index, change in enumerate(moves):
        nxt = moves[index + 1] if index + 1 < len(moves) else None
        is_last = nxt is None
        updates = [
            c
            for c in changes
            if c.changed_at >= change.changed_at
            and (nxt is None or c.changed_at < nxt.changed_at)
            and c is not change
        ]
        last = updates[-1] if updates else change
        steps.append(
            TimelineStep(
                stage=change.to_stage,
                entered_at=change.changed_at,
                left_at=nxt.changed_at if nxt else (deal.closed_at if deal.closed_at else None),
                amount=last.amount,
                close_date=last.close_date,
                changed_by=change.changed_by,
                is_current=is_last,
                updates=updates,
            )
        )
    for previous, step in itertools.pairwise(steps):
        step.went_back = (
            step.stage.kind == StageKind.OPEN and step.stage.order < previous.stage.order
        )
    if steps and not deal.is_open:
        # A closed deal stops the clock at its last step.
        steps[-1].left_at = steps[-1].entered_at
    return steps


# --- the deal page's lists, read as rows -------------------------------------------------
# Written SQL: each is a few rows of one deal, which the ORM took 0.4-0.8 ms of CPU to build,
# compile and make into models with their related rows; the page shows display values only.


def _name(name: str | None, email: str | None) -> str:
    return "" if email is None else User.name_shown(name or "", email)


@dataclass(frozen=True, slots=True)
class ActivityRow:
    kind: str  # the kind's label
    occurred_at: datetime
    summary: str
    direction: str  # the direction's label
    contact_id: int | None
    contact: str
    actor_id: int | None
    actor: str  # display name


def deal_activities(deal: Deal, limit: int = 50) -> list[ActivityRow]:
    """The deal's newest activities, newest first, with their contact and actor."""
    from unstuck.deals.models import Activity, ActivityKind, Contact, Direction
    from unstuck.investigate.sql import aware, fetch_dicts, table

    kinds, directions = dict(ActivityKind.choices), dict(Direction.choices)
    rows = fetch_dicts(
        "SELECT a.kind, a.occurred_at, a.summary, a.direction, a.contact_id, c.name AS contact, "
        f"a.actor_id, u.name, u.email FROM {table(Activity)} a "
        f"LEFT JOIN {table(Contact)} c ON c.id = a.contact_id "
        f"LEFT JOIN {table(User)} u ON u.id = a.actor_id "
        "WHERE a.deal_id = %s ORDER BY a.occurred_at DESC, a.id DESC LIMIT %s",
        [deal.pk, limit],
    )
    return [
        ActivityRow(
            kind=kinds.get(r["kind"], r["kind"]),
            occurred_at=aware(r["occurred_at"]),
            summary=r["summary"],
            direction=directions.get(r["direction"], r["direction"]),
            contact_id=r["contact_id"],
            contact=r["contact"] or "",
            actor_id=r["actor_id"],
            actor=_name(r["name"], r["email"]),
        )
        for r in rows
    ]


@dataclass(frozen=True, slots=True)
class PartnerRow:
    user_id: int
    name: str  # display name
    email: str
    title: str = ""  # their membership's title (the invitable ones)


def deal_partners(deal: Deal) -> list[PartnerRow]:
    """The partners invited to the deal, by name."""
    from unstuck.deals.models import DealPartner
    from unstuck.investigate.sql import fetch_dicts, table

    rows = fetch_dicts(
        f"SELECT p.user_id, u.name, u.email FROM {table(DealPartner)} p "
        f"JOIN {table(User)} u ON u.id = p.user_id WHERE p.deal_id = %s ORDER BY u.name",
        [deal.pk],
    )
    return [PartnerRow(r["user_id"], _name(r["name"], r["email"]), r["email"]) for r in rows]


def invitable_partners(deal: Deal, invited: list[PartnerRow]) -> list[PartnerRow]:
    """The workspace's active partners not invited to the deal yet, in the members' order."""
    from unstuck.investigate.sql import fetch_dicts, table

    skip = [p.user_id for p in invited]
    not_in = f" AND m.user_id NOT IN ({', '.join(['%s'] * len(skip))})" if skip else ""
    rows = fetch_dicts(
        f"SELECT m.user_id, m.title, u.name, u.email FROM {table(Membership)} m "
        f"JOIN {table(User)} u ON u.id = m.user_id WHERE m.workspace_id = %s AND m.role = %s "
        f"AND m.deactivated_at IS NULL{not_in} ORDER BY m.workspace_id, m.role, u.name",
        [deal.workspace_id, Role.PARTNER.value, *skip],
    )
    return [
        PartnerRow(r["user_id"], _name(r["name"], r["email"]), r["email"], r["title"]) for r in rows
    ]
