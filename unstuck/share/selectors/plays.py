"""Reads of the playbook: the list with search and filters, what is due for review or
proposed for retirement, the workspace trust figure, a deal's plays, and the two reads the
weekly digest uses (`play_of_the_week`, `plays_applied_on_unstuck_deals`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import (
    Count,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.utils import timezone

from unstuck.core.models import Membership, User, Workspace
from unstuck.deals.models import Deal, Stage, StageChange, StageKind
from unstuck.investigate.sql import aware, fetch_dicts, table
from unstuck.share.models import Play, PlayApplication, PlayStatus
from unstuck.share.plays_access import plays_visible_to
from unstuck.share.plays_outcomes import OutcomeSummary, outcome_summary, with_outcome_stamp

# Unverified plays nobody applied for this long are proposed for retirement.
RETIRE_UNUSED_DAYS = 90
SEARCH_FIELDS = ("title", "situation", "what_to_do", "what_to_say")


def search_plays(qs: QuerySet[Play], q: str) -> QuerySet[Play]:
    """Full-text search on PostgreSQL (English stemming, ranked); on SQLite every word must
    appear in the title or texts (case-insensitive)."""
    q = " ".join(q.split())[:200]
    if not q:
        return qs
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector

        vector = (
            SearchVector("title", weight="A", config="english")
            + SearchVector("situation", weight="B", config="english")
            + SearchVector("what_to_do", "what_to_say", weight="C", config="english")
        )
        query = SearchQuery(q, search_type="websearch", config="english")
        # Match on the vector itself: ts_rank gives non-matching rows a tiny positive rank.
        return (
            qs.annotate(search=vector, rank=SearchRank(vector, query))
            .filter(search=query)
            .order_by("-rank", "title", "pk")
        )
    for word in q.split():
        cond = Q()
        for f in SEARCH_FIELDS:
            cond |= Q(**{f"{f}__icontains": word})
        qs = qs.filter(cond)
    return qs


def _with_use(qs: QuerySet[Play]) -> QuerySet[Play]:
    return qs.annotate(
        n_applications=Count("applications", distinct=True),
        last_applied_at=Max("applications__applied_at"),
    )


def plays_due(qs: QuerySet[Play], *, now: datetime | None = None) -> QuerySet[Play]:
    """Verified plays past their review date."""
    return qs.filter(pk__in=_due_ids(qs, now or timezone.now()))


def _due_ids(qs: QuerySet[Play], now: datetime) -> list[int]:
    # The review date is verified_at + interval days; computed here rather than in SQL so it
    # reads the same on SQLite and PostgreSQL (plays are few: hundreds, not millions).
    rows = qs.filter(status=PlayStatus.VERIFIED, verified_at__isnull=False).values_list(
        "pk", "verified_at", "review_interval_days"
    )
    return [pk for pk, at, days in rows if at is not None and at + timedelta(days=days) <= now]


def plays_proposed_for_retirement(
    qs: QuerySet[Play], *, now: datetime | None = None
) -> QuerySet[Play]:
    """Unverified plays (drafts, or verified ones overdue by a whole interval) that nobody
    applied in the last RETIRE_UNUSED_DAYS and that are older than that."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=RETIRE_UNUSED_DAYS)
    stale = [
        pk
        for pk, at, days in qs.filter(
            status=PlayStatus.VERIFIED, verified_at__isnull=False
        ).values_list("pk", "verified_at", "review_interval_days")
        if at is not None and at + timedelta(days=2 * days) <= now
    ]
    unverified = Q(status=PlayStatus.DRAFT) | Q(pk__in=stale)
    recent = PlayApplication.objects.filter(play=OuterRef("pk"), applied_at__gte=cutoff)
    return (
        qs.filter(unverified, created_at__lte=cutoff)
        .exclude(pk__in=Subquery(recent.values("play_id")))
        .order_by("title", "pk")
    )


@dataclass(frozen=True)
class Trust:
    """How much of the playbook one can rely on: verified and not past review."""

    active: int  # drafts and verified plays (not retired)
    verified: int
    current: int  # verified and not due for review
    due: int
    proposed_retirement: int

    @property
    def pct(self) -> int | None:
        return round(100 * self.current / self.active) if self.active else None

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "pct": self.pct}


def playbook_trust(workspace: Workspace, *, now: datetime | None = None) -> Trust:
    now = now or timezone.now()
    qs = Play.objects.filter(workspace=workspace)
    active = qs.exclude(status=PlayStatus.RETIRED)
    verified = active.filter(status=PlayStatus.VERIFIED).count()
    due = len(_due_ids(active, now))
    return Trust(
        active=active.count(),
        verified=verified,
        current=verified - due,
        due=due,
        proposed_retirement=plays_proposed_for_retirement(active, now=now).count(),
    )


def play_list(
    membership: Membership,
    *,
    q: str = "",
    status: str = "",
    obstacle_kind: str = "",
    stage: str = "",
    due: bool = False,
    retire: bool = False,
) -> list[Play]:
    """The plays the member may see, filtered, with how often each was applied."""
    qs = plays_visible_to(membership).select_related("owner", "verifier")
    if status:
        qs = qs.filter(status=status)
    elif not (due or retire):
        qs = qs.exclude(status=PlayStatus.RETIRED)
    if due:
        qs = plays_due(qs)
    if retire:
        qs = plays_proposed_for_retirement(qs)
    plays = list(_with_use(search_plays(qs, q)))
    # JSON list filters in Python: portable across SQLite and PostgreSQL, and plays are few.
    if obstacle_kind:
        plays = [p for p in plays if obstacle_kind in p.obstacle_kinds]
    if stage:
        plays = [p for p in plays if stage in p.stages]
    return plays


def visible_evidence(membership: Membership, play: Play) -> list[Deal]:
    """The play's evidence deals that this member may see (others are only counted)."""
    from unstuck.core.access import deals_visible_to

    return list(
        deals_visible_to(membership)
        .filter(pk__in=play.evidence_deals.values("pk"))
        .select_related("stage", "account")
        .order_by("name", "pk")
    )


def visible_applications(membership: Membership, play: Play, limit: int = 50) -> list[Any]:
    """The play's applications on deals this member may see, newest first."""
    from unstuck.core.access import deals_visible_to

    return list(
        PlayApplication.objects.filter(
            play=play, deal__in=deals_visible_to(membership).values("pk")
        )
        .select_related("deal", "deal__stage", "stage", "applied_by")
        .order_by("-applied_at", "-pk")[:limit]
    )


@dataclass(frozen=True, slots=True)
class AppliedPlay:
    """A play applied to the deal, as the deal page's playbook card shows it."""

    play_id: int
    title: str
    applied_at: datetime
    stage: str
    applied_by: str  # display name, "" when the person is gone


def deal_play_applications(deal: Deal) -> list[AppliedPlay]:
    """Newest first. Written SQL: three joins the ORM took about 0.6 ms to compile and
    instantiate (with each play's whole stored outcome) for a row or two."""
    rows = fetch_dicts(
        "SELECT a.play_id, p.title, a.applied_at, s.name AS stage, u.name, u.email "
        f"FROM {table(PlayApplication)} a "
        f"JOIN {table(Play)} p ON p.id = a.play_id "
        f"JOIN {table(Stage)} s ON s.id = a.stage_id "
        f"LEFT JOIN {table(User)} u ON u.id = a.applied_by_id "
        "WHERE a.deal_id = %s ORDER BY a.applied_at DESC, a.id DESC",
        [deal.pk],
    )
    return [
        AppliedPlay(
            play_id=r["play_id"],
            title=r["title"],
            applied_at=aware(r["applied_at"]),
            stage=r["stage"],
            applied_by="" if r["email"] is None else User.name_shown(r["name"], r["email"]),
        )
        for r in rows
    ]


# --- for the weekly digest ------------------------------------------------------------------


@dataclass(frozen=True)
class PlayOfTheWeek:
    play: Play
    applications_recent: int  # on the teams' deals in the last 28 days
    outcome: OutcomeSummary
    evidence_deals: int


def play_of_the_week(
    workspace: Workspace, team_ids: Sequence[int], *, now: datetime | None = None
) -> PlayOfTheWeek | None:
    """The verified play to put in front of these teams this week: the one they applied most
    in the last 28 days (ties: the most applied overall, then the newest), with its measured
    outcome. A play measured as doing worse is never the play of the week; None when no
    verified play has been applied."""
    now = now or timezone.now()
    since = now - timedelta(days=28)
    recent = Q(applications__applied_at__gte=since)
    if team_ids:
        recent &= Q(applications__deal__team_id__in=list(team_ids))
    candidates = list(
        with_outcome_stamp(Play.objects.filter(workspace=workspace, status=PlayStatus.VERIFIED))
        .annotate(
            n_recent=Count("applications", filter=recent, distinct=True),
            n_all=Count("applications", distinct=True),
            n_evidence=Count("evidence_deals", distinct=True),
        )
        .filter(n_all__gt=0)
        .order_by("-n_recent", "-n_all", "-verified_at", "pk")[:3]
    )
    for play in candidates:
        summary = outcome_summary(play)
        if summary.verdict != "worse":
            return PlayOfTheWeek(
                play=play,
                applications_recent=play.n_recent,
                outcome=summary,
                evidence_deals=play.n_evidence,
            )
    return None


@dataclass(frozen=True)
class UnstuckDeal:
    deal: Deal
    play: Play
    applied_at: datetime
    moved_at: datetime
    to_stage: str
    won: bool


def plays_applied_on_unstuck_deals(
    workspace: Workspace, team_ids: Sequence[int], since: datetime
) -> list[UnstuckDeal]:
    """Deals of these teams that got unstuck since `since` (moved to a later stage, or won)
    after a play had been applied to them, with the play (the latest applied before the
    move). Two queries whatever the number of deals."""
    later = StageChange.objects.filter(
        deal__workspace=workspace,
        changed_at__gte=since,
        deal__play_applications__applied_at__lte=F("changed_at"),
    ).filter(Q(to_stage__kind=StageKind.WON) | Q(to_stage__order__gt=F("from_stage__order")))
    if team_ids:
        later = later.filter(deal__team_id__in=list(team_ids))
    moves = list(
        later.exclude(to_stage__kind=StageKind.LOST)
        .select_related("deal", "deal__account", "deal__owner", "to_stage")
        .order_by("deal_id", "-changed_at", "-pk")
        .distinct()
    )
    latest: dict[int, StageChange] = {}
    for m in moves:
        latest.setdefault(m.deal_id, m)
    if not latest:
        return []
    apps: dict[int, PlayApplication] = {}
    for a in (
        PlayApplication.objects.filter(deal_id__in=list(latest))
        .select_related("play")
        .order_by("deal_id", "applied_at", "pk")
    ):
        if a.applied_at <= latest[a.deal_id].changed_at:
            apps[a.deal_id] = a  # the latest one before the move wins
    out = [
        UnstuckDeal(
            deal=m.deal,
            play=apps[deal_id].play,
            applied_at=apps[deal_id].applied_at,
            moved_at=m.changed_at,
            to_stage=m.to_stage.name,
            won=m.to_stage.kind == StageKind.WON,
        )
        for deal_id, m in latest.items()
        if deal_id in apps
    ]
    return sorted(out, key=lambda u: (-u.moved_at.timestamp(), u.deal.pk))
