"""The sections of the weekly digest, each registered with `digest_section(order, key)`.

Plays ("deals unstuck this week with the play used", "play of the week") plug in from the
playbook's own module (`digest_plays`) the same way, between news (10) and the manager's
stuck deals (30).
"""

from __future__ import annotations

import operator
from datetime import timedelta
from functools import reduce
from typing import Any

from django.db.models import Prefetch, Q
from django.urls import reverse

from unstuck.core.access import DealScope, deal_scope, deals_visible_to
from unstuck.core.models import Membership, Role
from unstuck.deals.models import Deal, StageKind
from unstuck.investigate.models import DealAssessment, InvestigationRequest, Obstacle
from unstuck.investigate.stall_signals import STALL_WARNING
from unstuck.share import news_selectors
from unstuck.share.bench_selectors import function_involvement
from unstuck.share.digest import (
    DigestContext,
    DigestItem,
    Section,
    digest_section,
    managed_teams,
)
from unstuck.share.models import AskStatus, BenchAsk

SHOWN = 5
QUIET_DAYS = 60


def _deal_url(ctx: DigestContext, pk: int) -> str:
    return reverse("deals:detail", kwargs={"slug": ctx.slug, "pk": pk})


@digest_section(10, "news")
def news_section(ctx: DigestContext) -> Section | None:
    """Reps: what their manager passed on this week, the manager's line first, and
    must-reads. Managers: the news waiting for their decision."""
    m = ctx.membership
    if m.role == Role.REP:
        # The same for every rep of the team: asked once per send run.
        key = ("news", m.workspace_id, m.team_id)
        if key not in ctx.shared:
            ctx.shared[key] = news_selectors.passed_on_since(m, ctx.since, limit=SHOWN)
        posts: list[Any] = ctx.shared[key]
        items = [
            DigestItem(
                title=p.title,
                url=reverse("share:news-detail", kwargs={"slug": ctx.slug, "pk": p.pk}),
                lead=p.line or "",
                lead_by=p.passed_by_name or "",
                detail="Must read" if p.must_read and not p.line else "",
            )
            for p in posts
        ]
        return Section("news", "News for your team", items)
    if m.role == Role.MANAGER:
        pending = [i for i in news_selectors.manager_inbox(m) if i.pending]
        items = [
            DigestItem(
                title=i.post.title,
                url=reverse("share:news-detail", kwargs={"slug": ctx.slug, "pk": i.post.pk}),
                detail=f"for {i.team.name}: pass it on with a line, or hold it back",
            )
            for i in pending[:SHOWN]
        ]
        return Section(
            "news", "News waiting for your decision", items, more=len(pending) - len(items)
        )
    return None


@digest_section(30, "stuck")
def stuck_section(ctx: DigestContext) -> Section | None:
    """Managers: their teams' stuck deals that most need help."""
    if ctx.membership.role != Role.MANAGER or not ctx.team_ids:
        return None
    stuck = DealAssessment.objects.filter(
        workspace_id=ctx.membership.workspace_id,
        stall_score__gte=STALL_WARNING,
        deal__team_id__in=ctx.team_ids,
        deal__status=StageKind.OPEN,
    )
    rows = list(
        stuck.select_related("deal", "deal__owner").order_by("-payoff", "-stall_score")[:SHOWN]
    )
    if not rows:
        return None
    total = stuck.count()
    items = [
        DigestItem(
            title=a.deal.name,
            url=_deal_url(ctx, a.deal_id),
            detail=_stuck_detail(a),
        )
        for a in rows
    ]
    return Section("stuck", "Stuck deals that need your help", items, more=total - len(items))


def _stuck_detail(a: DealAssessment) -> str:
    owner = a.deal.owner.display_name if a.deal.owner else "no owner"
    first = a.signals[0] if a.signals and isinstance(a.signals[0], dict) else {}
    why = f"; {first['text']}" if first.get("text") else ""
    return f"stall score {a.stall_score}; {owner}{why}"


@digest_section(35, "overdue")
def overdue_section(ctx: DigestContext) -> Section | None:
    """Managers: requests to their reps past their due date."""
    if ctx.membership.role != Role.MANAGER:
        return None
    today = ctx.now.date()
    rows = list(
        InvestigationRequest.objects.filter(
            Q(deal__team_id__in=ctx.team_ids) | Q(deal__owner_id=ctx.membership.user_id),
            deal__workspace_id=ctx.membership.workspace_id,
            answered_at__isnull=True,
            due_date__lt=today,
        )
        .select_related("deal", "assignee")
        .order_by("due_date", "pk")[: SHOWN + 1]
    )
    items = [
        DigestItem(
            title=r.question[:120],
            url=_deal_url(ctx, r.deal_id) + "#investigation",
            detail=f"{r.deal.name}; {r.assignee.display_name if r.assignee else 'unassigned'}; "
            f"due {r.due_date:%b %-d}",
        )
        for r in rows[:SHOWN]
    ]
    return Section("overdue", "Overdue requests", items, more=max(0, len(rows) - SHOWN))


def _live_asks(ctx: DigestContext) -> list[BenchAsk]:
    """The asks any of the batch's digests may show: open ones made to or by them or on their
    managers' teams' deals, and answered ones they made and have not rated. One query."""
    users = [m.user_id for m in ctx.batch]
    teams = sorted(
        {t for ids in ctx.for_batch("managed-teams", managed_teams).values() for t in ids}
    )
    live = Q(person__user_id__in=users, status=AskStatus.OPEN) | Q(
        asked_by_id__in=users, status=AskStatus.OPEN
    )
    live |= Q(asked_by_id__in=users, status=AskStatus.ANSWERED, helpful__isnull=True)
    if teams:
        live |= Q(deal__team_id__in=teams, status=AskStatus.OPEN)
    return list(
        BenchAsk.objects.filter(live, workspace_id=ctx.membership.workspace_id)
        .select_related("deal", "person__user")
        .order_by("status", "due_date", "pk")
    )


def _is_mine(ask: BenchAsk, user_id: int, team_ids: list[int]) -> bool:
    if ask.status == AskStatus.OPEN:
        return (
            ask.person.user_id == user_id
            or ask.asked_by_id == user_id
            or (bool(team_ids) and ask.deal.team_id in team_ids)
        )
    return ask.status == AskStatus.ANSWERED and ask.asked_by_id == user_id and ask.helpful is None


@digest_section(40, "asks")
def asks_section(ctx: DigestContext) -> Section | None:
    """Open asks to and from the bench: made to this person, made by them (and answered ones
    waiting for their "helpful or not"), and for managers those on their teams' deals."""
    m = ctx.membership
    team_ids = ctx.team_ids
    rows = [a for a in ctx.for_batch("asks", _live_asks) if _is_mine(a, m.user_id, team_ids)][
        : SHOWN + 1
    ]
    items = []
    for a in rows[:SHOWN]:
        to_me = a.person.user_id == m.user_id
        if to_me:
            detail = f"asked of you, by {a.due_date:%b %-d}"
        elif a.status == AskStatus.ANSWERED:
            detail = f"{a.person.user.display_name} answered: was it helpful?"
        else:
            who = f"{a.person.user.display_name} ({a.person.get_function_display()})"
            detail = f"asked of {who}, by {a.due_date:%b %-d}"
        items.append(
            DigestItem(
                title=f"{a.deal.name}: {a.what[:100]}",
                url=reverse("share:ask-detail", kwargs={"slug": ctx.slug, "pk": a.pk}),
                detail=detail,
            )
        )
    return Section("asks", "Asks to and from the bench", items, more=max(0, len(rows) - SHOWN))


def _reason(deal: Deal) -> str:
    custom = deal.custom or {}
    for key in ("win_reason", "loss_reason", "reason", "Loss_Reason__c", "closed_lost_reason"):
        if custom.get(key):
            return str(custom[key])[:160]
    kinds = sorted({o.get_kind_display() for o in deal.obstacles.all()})
    if kinds and deal.status == StageKind.WON:
        return f"got past {', '.join(kinds)}"
    if kinds:
        return f"obstacles: {', '.join(kinds)}"
    return "no reason recorded"


def _closed_this_week(ctx: DigestContext) -> list[Deal]:
    """Deals won or lost this week that any of the batch's (non-partner) digests may show,
    newest first, with their obstacles. Two queries."""
    scopes = [_scope_of(ctx, m) for m in ctx.batch if m.role != Role.PARTNER]
    if not scopes:
        return []
    closed = Deal.objects.filter(
        workspace_id=ctx.membership.workspace_id,
        status__in=[StageKind.WON, StageKind.LOST],
        closed_at__gte=ctx.since,
    )
    if not any(s.everything for s in scopes):
        conditions = [q for q in (s.q() for s in scopes) if q is not None]
        closed = closed.filter(reduce(operator.or_, conditions))
    return list(
        closed.select_related("stage")
        .prefetch_related(Prefetch("obstacles", queryset=Obstacle.objects.order_by()))
        .order_by("-closed_at", "-pk")
    )


def _scope_of(ctx: DigestContext, m: Membership) -> DealScope:
    teams = ctx.for_batch("managed-teams", managed_teams).get(m.user_id, [])
    return deal_scope(m, write=False, managed=teams)


@digest_section(50, "closed")
def closed_section(ctx: DigestContext) -> Section | None:
    """Wins and losses this week among the deals this person sees, with their reasons."""
    m = ctx.membership
    if m.role == Role.PARTNER:  # only the deals they were invited to: asked on their own
        closed = deals_visible_to(m).filter(
            status__in=[StageKind.WON, StageKind.LOST], closed_at__gte=ctx.since
        )
        rows = list(
            closed.select_related("stage")
            .prefetch_related(Prefetch("obstacles", queryset=Obstacle.objects.order_by()))
            .order_by("-closed_at", "-pk")[: SHOWN + 1]
        )
    else:
        scope = ctx.scope
        rows = [d for d in ctx.for_batch("closed", _closed_this_week) if scope.covers(d)]
        rows = rows[: SHOWN + 1]
    items = [
        DigestItem(
            title=f"{'Won' if d.status == StageKind.WON else 'Lost'}: {d.name}",
            url=_deal_url(ctx, d.pk),
            detail=f"{d.amount:,.0f} {d.currency}; {_reason(d)}",
        )
        for d in rows[:SHOWN]
    ]
    return Section("closed", "Wins and losses this week", items, more=max(0, len(rows) - SHOWN))


@digest_section(90, "bench-nudge")
def bench_nudge_section(ctx: DigestContext) -> Section | None:
    """Managers: functions of the bench their teams have not asked for a while."""
    if not ctx.team_ids:
        return None
    quiet_before = ctx.now - timedelta(days=QUIET_DAYS)
    items = [
        DigestItem(
            title=f"{i.label}: "
            + (f"last asked {(ctx.now - i.last).days} days ago" if i.last else "never asked yet"),
            url=reverse("share:bench", kwargs={"slug": ctx.slug}),
            detail=f"{i.people} on the bench",
        )
        for i in function_involvement(
            workspace_id=ctx.membership.workspace_id, team_ids=ctx.team_ids
        )
        if i.last is None or i.last < quiet_before
    ]
    return Section("bench-nudge", "Relationships gone quiet", items[:SHOWN], nudge=True)
