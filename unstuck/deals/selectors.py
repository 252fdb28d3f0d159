"""Reads that span deal models: the pipeline list and a deal's stage timeline."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.utils import timezone

from unstuck.core.access import deals_visible_to
from unstuck.core.models import Membership, Role, Team, User
from unstuck.core.validation import parse_id
from unstuck.deals.models import Deal, DealQuerySet, Stage, StageChange, StageKind

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
        for name in ("team", "owner", "stage"):
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
    if filters.team:
        qs = qs.filter(team_id=filters.team)
    if filters.owner:
        qs = qs.filter(owner_id=filters.owner)
    if filters.stage:
        qs = qs.filter(stage_id=filters.stage)
    if filters.q:
        qs = qs.filter(name__icontains=filters.q) | qs.filter(account__name__icontains=filters.q)
    return qs.select_related("account", "owner", "stage").order_by(*SORTS[filters.sort])


def pipeline_page(membership: Membership, filters: PipelineFilters, page_number: Any) -> Page[Deal]:
    from django.conf import settings

    paginator = Paginator(pipeline_deals(membership, filters), settings.UNSTUCK_PAGE_SIZE)
    return paginator.get_page(page_number)


@dataclass
class FilterChoices:
    teams: list[Team]
    owners: list[User]
    stages: list[Stage]


def pipeline_filter_choices(membership: Membership) -> FilterChoices:
    """The teams, owners and stages a member may filter by (only what they could see)."""
    ws = membership.workspace
    teams: QuerySet[Team] = Team.objects.filter(workspace=ws)
    owners: QuerySet[User] = User.objects.filter(
        memberships__workspace=ws, memberships__role__in=[Role.REP, Role.MANAGER]
    )
    if membership.role == Role.MANAGER:
        teams = teams.filter(manager_id=membership.user_id)
        owners = owners.filter(memberships__team__in=teams) | owners.filter(pk=membership.user_id)
    elif membership.role == Role.REP:
        teams = teams.filter(pk=membership.team_id) if membership.team_id else teams.none()
        if ws.reps_see_team_deals and membership.team_id:
            owners = owners.filter(memberships__team_id=membership.team_id)
        else:
            owners = owners.filter(pk=membership.user_id)
    elif membership.role == Role.PARTNER:
        teams, owners = teams.none(), owners.none()
    stages = Stage.objects.filter(pipeline__workspace=ws).select_related("pipeline")
    return FilterChoices(
        teams=list(teams), owners=list(owners.distinct().order_by("name")), stages=list(stages)
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
        return max(self.duration.days, 0)


def _stage_moves(changes: list[StageChange]) -> list[StageChange]:
    """Rows that changed the stage; the others only updated amount or close date in place."""
    moves: list[StageChange] = []
    for change in changes:
        previous = moves[-1].to_stage_id if moves else change.from_stage_id
        if not moves or change.to_stage_id != previous:
            moves.append(change)
    return moves


def deal_timeline(deal: Deal) -> list[TimelineStep]:
    """Each stage the deal has been in, oldest first, with the time it spent there."""
    changes = list(
        StageChange.objects.filter(deal=deal)
        .select_related("from_stage", "to_stage", "changed_by")
        .order_by("changed_at", "pk")
    )
    steps: list[TimelineStep] = []
    if not changes or changes[0].from_stage_id is not None:
        # History starts after creation (or is absent): the deal was somewhere before that.
        first_stage = changes[0].from_stage if changes else deal.stage
        first_left = changes[0].changed_at if changes else None
        if first_stage is not None:
            steps.append(
                TimelineStep(
                    stage=first_stage,
                    entered_at=deal.created_at,
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
